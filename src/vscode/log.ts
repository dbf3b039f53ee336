import * as vscode from 'vscode';
import type { Logger } from '../transport/logger';

/** The "Ferry" log channel. Remote commands are logged at debug level (host, argv, exit code, ms); never secrets. */
export function createLog(): { channel: vscode.LogOutputChannel; logger: Logger } {
  const channel = vscode.window.createOutputChannel('Ferry', { log: true });
  const logger: Logger = {
    trace: (m) => channel.trace(m),
    debug: (m) => channel.debug(m),
    info: (m) => channel.info(m),
    warn: (m) => channel.warn(m),
    error: (m) => channel.error(m),
  };
  return { channel, logger };
}
