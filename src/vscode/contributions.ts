import type { DomainState } from '../core/domain';
import type { ConnectionState } from '../transport/hostConnection';

/** Every command id, view id and setting key Ferry contributes, in one typed table (checked against package.json by a test). */
export const Commands = {
  hostAdd: 'ferry.host.add',
  hostRemove: 'ferry.host.remove',
  hostConnect: 'ferry.host.connect',
  hostDisconnect: 'ferry.host.disconnect',
  inventoryRefresh: 'ferry.inventory.refresh',
  domainStart: 'ferry.domain.start',
  domainShutdown: 'ferry.domain.shutdown',
  domainReboot: 'ferry.domain.reboot',
  domainForceOff: 'ferry.domain.forceOff',
  domainPause: 'ferry.domain.pause',
  domainResume: 'ferry.domain.resume',
  domainMigrate: 'ferry.domain.migrate',
  migrationAbort: 'ferry.migration.abort',
  migrationSetBandwidth: 'ferry.migration.setBandwidth',
  migrationSetMaxDowntime: 'ferry.migration.setMaxDowntime',
  migrationPostcopy: 'ferry.migration.postcopy',
  migrationShowMonitor: 'ferry.migration.showMonitor',
  migrationCompare: 'ferry.migration.compare',
  migrationImportRun: 'ferry.migration.importRun',
  conntrackSync: 'ferry.conntrack.sync',
  interfaceSetBandwidth: 'ferry.interface.setBandwidth',
  interfaceRemoveLimit: 'ferry.interface.removeLimit',
  interfaceShowTraffic: 'ferry.interface.showTraffic',
  qemuUpgrade: 'ferry.qemu.upgrade',
  logShow: 'ferry.log.show',
} as const;

export const Views = { hosts: 'ferry.hosts' } as const;

export const Settings = {
  hosts: 'ferry.hosts',
  sshConfigFile: 'ferry.ssh.configFile',
  connectTimeoutSeconds: 'ferry.ssh.connectTimeoutSeconds',
  keepaliveIntervalSeconds: 'ferry.ssh.keepaliveIntervalSeconds',
  rememberPassphrases: 'ferry.ssh.rememberPassphrases',
  libvirtUri: 'ferry.libvirt.uri',
  conntrackBudgetMs: 'ferry.conntrack.budgetMs',
  qosRateUnit: 'ferry.qos.rateUnit',
  saveRestoreMaxPauseSeconds: 'ferry.qemu.saveRestoreMaxPauseSeconds',
  inPlace: 'ferry.qemu.inPlace',
  inPlacePostcopy: 'ferry.qemu.inPlacePostcopy',
} as const;

/**
 * contextValue of tree items, `<kind>:<state>…`; package.json's menus match them by regex (`viewItem =~ /^domain:…/`).
 * Every value a row can have is listed in TREE_CONTEXTS, and test/unit/contributions.test.ts checks that each menu's
 * `viewItem` clause matches some of them and that each of them (but those in CONTEXTS_WITHOUT_MENU) has a menu.
 */
export type HostContext = `host:${ConnectionState['kind']}`;
export type DomainContext = `domain:${DomainState}`;
/** a VM KubeVirt owns: read only */
export type KubevirtDomainContext = `kubevirt:${DomainState}`;
/** an interface: takes QoS or not, runs (has a host device to watch) or not, has a limit to remove or not */
export type InterfaceContext = `interface:${'qos' | 'noqos'}:${'running' | 'stopped'}:${'limited' | 'open'}`;
export type MessageContext = `message:${'retry' | 'info'}`;
export type TreeContext =
  HostContext | DomainContext | KubevirtDomainContext | 'namespace:kubevirt' | InterfaceContext | MessageContext;

// every state, spelled out so that a state added to ConnectionState or DomainState fails to compile here
const HOST_STATES: Record<ConnectionState['kind'], true> = {
  connected: true,
  connecting: true,
  disconnected: true,
  failed: true,
};
const DOMAIN_STATES: Record<DomainState, true> = {
  running: true,
  blocked: true,
  paused: true,
  shutdown: true,
  shutoff: true,
  crashed: true,
  pmsuspended: true,
  migrating: true,
  nostate: true,
};
const keys = <K extends string>(r: Record<K, true>) => Object.keys(r) as K[];

/** Every contextValue a tree row can have. */
export const TREE_CONTEXTS: readonly TreeContext[] = [
  ...keys(HOST_STATES).map((s): HostContext => `host:${s}`),
  ...keys(DOMAIN_STATES).map((s): DomainContext => `domain:${s}`),
  ...keys(DOMAIN_STATES).map((s): KubevirtDomainContext => `kubevirt:${s}`),
  'namespace:kubevirt',
  ...(['qos', 'noqos'] as const).flatMap((q) =>
    (['running', 'stopped'] as const).flatMap((r) =>
      (['limited', 'open'] as const).map((l): InterfaceContext => `interface:${q}:${r}:${l}`),
    ),
  ),
  'message:retry',
  'message:info',
];

/** Rows that offer nothing on purpose: an informative message; an interface without QoS whose domain does not run. */
export const CONTEXTS_WITHOUT_MENU: readonly TreeContext[] = [
  'message:info',
  'namespace:kubevirt',
  'interface:noqos:stopped:limited',
  'interface:noqos:stopped:open',
];
