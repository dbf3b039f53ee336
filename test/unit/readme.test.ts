/**
 * The README is the gallery page: a figure in it is one a benchmark prints, and says which. A figure is an approximate
 * value (~N), a ratio (N×, not a size like 128×128), a benchmark's own output (`key=N`), or a time or rate in ms or Hz. Outside the Figures
 * section its paragraph names `npm run bench -- NAME`; inside it, a paragraph does or follows one that does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const FIGURE = /~\s?\d[\d.,]*|\d+(\.\d+)?\s?×(?!\d)|(?<![?&\w])\w+=[\d.]+|\d+(\.\d+)?\s?(ms|Hz)\b/g;
const BENCH = /npm run bench -- ([a-z]+)/;
/** the benchmarks bench/run.sh runs: the names of its case arms */
const BENCHES = [
  ...readFileSync(join(__dirname, '..', '..', 'bench', 'run.sh'), 'utf8').matchAll(/^ {2}([a-z|]+)\)/gm),
].flatMap((m) => m[1].split('|'));

/** the figures of a markdown text that no benchmark is named for, with the start of their paragraph */
export function figuresWithoutBench(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '');
  const unnamed: string[] = [];
  let section = '';
  let benchAbove = false;
  for (const block of text.split(/\n(?=#)|\n\s*\n|\n(?=[-*] )/)) {
    const heading = /^#+ (.*)/.exec(block);
    if (heading) [section, benchAbove] = [heading[1], false];
    if (BENCH.test(block)) {
      benchAbove = true;
      continue;
    }
    const figures = block.match(FIGURE);
    if (figures && !(section.startsWith('Figures') && benchAbove))
      unnamed.push(`${figures.join(', ')} in "${block.slice(0, 80).replace(/\s+/g, ' ')}…"`);
  }
  return unnamed;
}

describe("the README's figures", () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

  it('each names the benchmark that prints it', () => {
    expect(figuresWithoutBench(readme)).toEqual([]);
  });

  it('names only benchmarks that exist', () => {
    const named = [...readme.matchAll(new RegExp(BENCH, 'g'))].map((m) => m[1]);
    expect(BENCHES).toEqual([
      'inventory',
      'sampling',
      'upgrade',
      'kubevirt',
      'migration',
      'conntrack',
      'qos',
      'traffic',
      'fleet',
    ]);
    expect(new Set(named)).toEqual(new Set(BENCHES));
    expect(named.filter((b) => !BENCHES.includes(b))).toEqual([]);
  });

  it('finds a figure without one, and takes a setting or a URL for none', () => {
    expect(figuresWithoutBench('## Use it\n\nA tree in ~0.2 s for 600 domains, 38× faster.')).toEqual([
      '~0.2, 38× in "A tree in ~0.2 s for 600 domains, 38× faster.…"',
    ]);
    expect(figuresWithoutBench('## Use it\n\nThe tree (`npm run bench -- inventory`): ~0.2 s.')).toEqual([]);
    expect(figuresWithoutBench('## Figures\n\n`npm run bench -- qos`: 1 s.\n\nThen ~5 ms.')).toEqual([]);
    expect(figuresWithoutBench('## Use it\n\nA limit of 10 Mbit/s; `/cgi-bin/dirty?mb=400&rate=100`.')).toEqual([]);
  });
});
