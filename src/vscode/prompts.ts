/** The decisions the transport asks a person for: trusting a host key, a key passphrase. */
import * as vscode from 'vscode';
import type { UnknownHostKey } from '../transport/sshError';
import { windowInput } from './windowInput';
import { config } from './config';
import { askModal } from './notify';

export async function confirmHostKey(key: UnknownHostKey): Promise<boolean> {
  const trust = vscode.l10n.t('Trust and Connect');
  const other = key.otherKeyTypes.length
    ? `\n\n${vscode.l10n.t(
        'known_hosts already holds {0} key(s) for this host, but none of type {1}.',
        key.otherKeyTypes.join(', '),
        key.keyType,
      )}`
    : '';
  const fingerprint = vscode.l10n.t('{0} key fingerprint is {1}.', key.keyType, key.fingerprint);
  const compare = vscode.l10n.t(
    "Compare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the host). If you trust it, it is added to {0}.",
    key.knownHostsFile,
  );
  const answer = await askModal(
    'warning',
    vscode.l10n.t('The authenticity of host "{0}" ({1}) can\'t be established.', key.alias, key.knownHostsName),
    `${fingerprint}${other}\n\n${compare}`,
    trust,
  );
  return answer === trust;
}

/**
 * SSH key passphrases, asked in an input box and, while ferry.ssh.rememberPassphrases is on, kept in SecretStorage.
 * SecretStorage cannot list its keys, so the key files with a stored passphrase are indexed (paths only, no secret)
 * to delete them all when the setting is turned off.
 */
export class Passphrases {
  private static readonly INDEX = 'ferry.passphrase.files';

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly state: vscode.Memento,
  ) {}

  private static key = (keyFile: string) => `ferry.passphrase:${keyFile}`;

  /** for a reconnect with no one to ask */
  remembered = async (keyFile: string): Promise<string | undefined> =>
    config.rememberPassphrases() ? this.secrets.get(Passphrases.key(keyFile)) : undefined;

  ask = async (keyFile: string, retry: boolean): Promise<string | undefined> => {
    if (!retry) {
      const stored = await this.remembered(keyFile);
      if (stored !== undefined) return stored;
    }
    const passphrase = await windowInput.askText({
      title: vscode.l10n.t('Ferry: SSH key passphrase'),
      prompt: retry
        ? vscode.l10n.t('Wrong passphrase. Passphrase for {0}', keyFile)
        : vscode.l10n.t('Passphrase for {0}', keyFile),
      password: true,
    });
    if (passphrase !== undefined && config.rememberPassphrases()) await this.store(keyFile, passphrase);
    else if (retry) await this.secrets.delete(Passphrases.key(keyFile));
    return passphrase;
  };

  private async store(keyFile: string, passphrase: string) {
    await this.secrets.store(Passphrases.key(keyFile), passphrase);
    const files = this.state.get<string[]>(Passphrases.INDEX, []);
    if (!files.includes(keyFile)) await this.state.update(Passphrases.INDEX, [...files, keyFile]);
  }

  /** every stored passphrase deleted (the setting was turned off) */
  async forgetAll(): Promise<number> {
    const files = this.state.get<string[]>(Passphrases.INDEX, []);
    await Promise.all(files.map((f) => this.secrets.delete(Passphrases.key(f))));
    await this.state.update(Passphrases.INDEX, []);
    return files.length;
  }
}
