/**
 * The interactive virsh Ferry keeps open, against a real virsh (libvirt's test driver, in-process: no daemon, no lab)
 * holding domains whose names attack a readline session and the answers' framing.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteSession } from '../../src/transport/sshConnection';
import { AnswerReader, VirshShell } from '../../src/services/virshShell';
import { sessionHostileNames } from '../support/hostileNames';

const VICTIM = 'victim';
const VICTIM_UUID = randomUUID();
const hostile = sessionHostileNames(VICTIM, VICTIM_UUID).map((h) => ({ ...h, uuid: randomUUID() }));
const xmlText = (s: string) =>
  [...s]
    .map((c) => (/[\x00-\x1f\x7f-\x9f&<>'"]/.test(c) || c.codePointAt(0)! > 0x2000 ? `&#${c.codePointAt(0)};` : c))
    .join('');
const domain = (name: string, uuid: string) =>
  `<domain type='test'><name>${xmlText(name)}</name><uuid>${uuid}</uuid><memory>65536</memory><os><type>hvm</type></os></domain>`;

let dir: string;
let uri: string;

/** A local `virsh` on stdin/stdout, as Ferry's sessions run it on a host. */
function localVirsh(onData: (text: string) => void): Promise<RemoteSession> {
  const child = spawn('virsh', ['-q', '-c', uri], { stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdout.setEncoding('utf8').on('data', onData);
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`virsh (libvirt-clients) is needed for this test: ${e.message}`)));
    child.on('spawn', () =>
      resolve({ write: (t) => child.stdin.write(t), end: () => child.stdin.end(), close: () => child.kill(), done }),
    );
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-virsh-'));
  const node = `<node>${domain(VICTIM, VICTIM_UUID)}${hostile.map((h) => domain(h.name, h.uuid)).join('')}</node>`;
  writeFileSync(join(dir, 'node.xml'), node);
  uri = `test://${join(dir, 'node.xml')}`;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the interactive virsh', () => {
  it('names every domain exactly, by UUID, whatever its name holds, and the victim stays', async () => {
    const shell = await VirshShell.over(localVirsh, 'local virsh ended');
    try {
      const [uuids] = (await shell.ask([['list', '--all', '--uuid']])).texts;
      expect(uuids.trim().split('\n').sort()).toEqual([VICTIM_UUID, ...hostile.map((h) => h.uuid)].sort());
      const all = [{ cls: 'victim', name: VICTIM, uuid: VICTIM_UUID }, ...hostile];
      const { texts } = await shell.ask(all.map((h) => ['domname', h.uuid]));
      all.forEach((h, i) => expect(texts[i], h.cls).toBe(`${h.name}\n`));
      // asked again one by one, pipelined: every answer lands with its own question
      const one = await Promise.all(all.map((h) => shell.ask([['domname', h.uuid]])));
      all.forEach((h, i) => expect(one[i].texts[0], h.cls).toBe(`${h.name}\n`));
      expect((await shell.ask([['domstate', VICTIM_UUID]])).texts[0].trim()).toBe('running');
    } finally {
      shell.close();
    }
  });

  it('refuses, before writing anything, a word from outside its closed alphabet', async () => {
    const shell = await VirshShell.over(localVirsh, 'local virsh ended');
    try {
      // ('quit' is a plain word: as an argument it names a domain, nothing more)
      for (const h of hostile.filter((x) => x.cls !== 'quit')) {
        await expect(shell.ask([['domuuid', h.name]]), h.cls).rejects.toThrow(/not written to an interactive virsh/);
      }
      for (const word of ["'x'", 'a b', 'x\ty', '\x7f', 'x;y', '"y"', '-', '']) {
        await expect(shell.ask([['domstate', word]]), JSON.stringify(word)).rejects.toThrow(/not written|empty/);
      }
      // the shell still answers afterwards: nothing half-written
      expect((await shell.ask([['domname', VICTIM_UUID]])).texts[0]).toBe(`${VICTIM}\n`);
    } finally {
      shell.close();
    }
  });

  it('frames answers by a nonce new for each question, found even when split across chunks', () => {
    const a = AnswerReader.frame([['domname', VICTIM_UUID]]);
    const b = AnswerReader.frame([['domname', VICTIM_UUID]]);
    expect(a.markers[0].printed).not.toBe(b.markers[0].printed);
    expect(a.input).not.toContain(a.markers[0].printed); // the echoed input never holds the marker whole
    const got: string[][] = [];
    const question = (f: typeof a) => ({
      lines: f.lines,
      markers: f.markers,
      resolve: (x: { texts: string[] }) => got.push(x.texts),
      reject: () => undefined,
      sentAt: 0,
    });
    const printed = (f: typeof a, name: string) =>
      `virsh # ${f.lines[0]}\n${name}\nvirsh # ${f.markers[0].sent}\n${f.markers[0].printed}`;
    // a long answer too (a listing of a thousand domains comes in hundreds of chunks)
    const long = Array.from({ length: 1000 }, (_, i) => `${VICTIM_UUID} domain-${i}`).join('\n');
    const stream = `virsh # ${printed(a, 'virsh # ferry-answered\u2028x').slice(8)}${printed(b, long)}virsh # `;
    // every cut: a marker split anywhere over two chunks, or over many
    for (const size of [1, 2, 3, 7, 31, 32, 33, 64, 1000, stream.length]) {
      const reader = new AnswerReader();
      reader.expect(question(a));
      reader.expect(question(b));
      for (let i = 0; i < stream.length; i += size) reader.feed(stream.slice(i, i + size));
      expect(got.splice(0), `chunks of ${size}`).toEqual([['virsh # ferry-answered\u2028x\n'], [`${long}\n`]]);
    }
  });
});
