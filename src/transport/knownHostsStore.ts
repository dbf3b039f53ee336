/** known_hosts files on disk: read them all, append an accepted key. */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KnownHostLine } from '../core/knownHosts';
import { knownHostsEntry, parseKnownHosts } from '../core/knownHosts';

export async function readKnownHosts(files: string[]): Promise<KnownHostLine[]> {
  const all: KnownHostLine[] = [];
  for (const file of files) {
    try {
      all.push(...parseKnownHosts(await readFile(file, 'utf8'), file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return all;
}

export async function addKnownHost(file: string, name: string, blob: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const text = await readFile(file, 'utf8');
    if (text.length && !text.endsWith('\n')) prefix = '\n';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await appendFile(file, `${prefix}${knownHostsEntry(name, blob)}\n`, { mode: 0o600 });
}
