/** The decisions the transport asks a person for: trusting a host key, a key passphrase. */
import * as vscode from 'vscode';
import type { UnknownHostKey } from '../transport/sshConnection';
import { askText } from './ask';
import { config } from './config';

export async function confirmHostKey(key: UnknownHostKey): Promise<boolean> {
  const trust = 'Trust and Connect';
  const other = key.otherKeyTypes.length ? `\n\nknown_hosts already holds ${key.otherKeyTypes.join(', ')} key(s) for this host, but none of type ${key.keyType}.` : '';
  const answer = await vscode.window.showWarningMessage(
    `The authenticity of host "${key.alias}" (${key.knownHostsName}) can't be established.`,
    {
      modal: true,
      detail:
        `${key.keyType} key fingerprint is ${key.fingerprint}.${other}\n\n` +
        `Compare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the host). ` +
        `If you trust it, it is added to ${key.knownHostsFile}.`,
    },
    trust,
  );
  return answer === trust;
}

const secretKey = (keyFile: string) => `ferry.passphrase:${keyFile}`;

export function passphrasePrompt(secrets: vscode.SecretStorage) {
  return async (keyFile: string, retry: boolean): Promise<string | undefined> => {
    if (!retry && config.rememberPassphrases()) {
      const stored = await secrets.get(secretKey(keyFile));
      if (stored !== undefined) return stored;
    }
    const passphrase = await askText({
      title: 'Ferry: SSH key passphrase',
      prompt: `${retry ? 'Wrong passphrase. ' : ''}Passphrase for ${keyFile}`,
      password: true,
    });
    if (passphrase !== undefined && config.rememberPassphrases()) await secrets.store(secretKey(keyFile), passphrase);
    else if (retry) await secrets.delete(secretKey(keyFile));
    return passphrase;
  };
}
