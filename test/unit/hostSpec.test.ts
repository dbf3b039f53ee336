import { describe, expect, it } from 'vitest';
import { parseHostSpec } from '../../src/core/hostSpec';

describe('host spec', () => {
  it.each([
    ['hostA', { host: 'hostA' }],
    ['root@kvm1', { host: 'kvm1', user: 'root' }],
    ['root@kvm1:2222', { host: 'kvm1', user: 'root', port: 2222 }],
    ['admin@[fd00::1]:22', { host: 'fd00::1', user: 'admin', port: 22 }],
    ['fd00::1', { host: 'fd00::1' }],
  ])('parses %s', (input, expected) => {
    expect(parseHostSpec(input)).toEqual({ user: undefined, port: undefined, ...expected });
  });

  it.each([
    ['', /not a host/],
    ['two words', /not a host/],
    ['kvm1:ssh', /must be a number/],
    ['kvm1:70000', /1-65535/],
    ['root@', /names no host/],
  ])('rejects %j', (input, message) => expect(() => parseHostSpec(input)).toThrow(message));
});
