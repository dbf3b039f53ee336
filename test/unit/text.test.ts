import { describe, expect, it } from 'vitest';
import { escapeIcons } from '../../src/core/text';

describe('outside text where VS Code renders $(icon)', () => {
  it('escapes every icon reference a name holds, and only those', () => {
    expect(escapeIcons('vm $(error) $(sync~spin)')).toBe('vm \\$(error) \\$(sync~spin)');
    expect(escapeIcons('already \\$(error)')).toBe('already \\$(error)');
    // not icon syntax (a space inside): VS Code shows it as it is
    expect(escapeIcons("evil $(touch ferry-pwned) `x`")).toBe("evil $(touch ferry-pwned) `x`");
  });
});
