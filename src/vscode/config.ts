import * as vscode from 'vscode';
import type { RateUnit } from '../core/qos';
import { RATE_UNITS } from '../core/qos';
import { DEFAULT_LIBVIRT_URI } from '../core/virsh';
import type { InPlacePostcopy } from '../core/inPlace';
import { defaultSshConfigPath } from '../transport/sshConfig';
import { Settings } from './contributions';

const get = <T>(key: string, fallback: T): T => {
  const [section, ...rest] = key.split('.');
  return vscode.workspace.getConfiguration(section).get<T>(rest.join('.'), fallback);
};

export const config = {
  hosts: () => get<string[]>(Settings.hosts, []),
  sshConfigPath: () => get<string>(Settings.sshConfigFile, '') || defaultSshConfigPath(),
  connectTimeoutMs: () => get<number>(Settings.connectTimeoutSeconds, 10) * 1000,
  keepaliveIntervalMs: () => get<number>(Settings.keepaliveIntervalSeconds, 15) * 1000,
  rememberPassphrases: () => get<boolean>(Settings.rememberPassphrases, false),
  conntrackBudgetMs: () => get<number>(Settings.conntrackBudgetMs, 200),
  saveRestoreMaxPauseSeconds: () => get<number>(Settings.saveRestoreMaxPauseSeconds, 10),
  inPlace: () => get<boolean>(Settings.inPlace, true),
  inPlacePostcopy: (): InPlacePostcopy => {
    const mode = get<string>(Settings.inPlacePostcopy, 'auto');
    return mode === 'always' || mode === 'off' ? mode : 'auto';
  },
  qosRateUnit: (): RateUnit => {
    const unit = get<string>(Settings.qosRateUnit, 'Mbit/s');
    return unit in RATE_UNITS ? (unit as RateUnit) : 'Mbit/s';
  },
  libvirtUri: () => get<string>(Settings.libvirtUri, DEFAULT_LIBVIRT_URI) || DEFAULT_LIBVIRT_URI,
  setHosts: (hosts: string[]) =>
    vscode.workspace.getConfiguration('ferry').update('hosts', hosts, vscode.ConfigurationTarget.Global),
};
