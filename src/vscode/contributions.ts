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
} as const;

/** contextValue of tree items; package.json `when` clauses match them by regex. */
export type HostContext = `host:${'connected' | 'connecting' | 'disconnected' | 'failed'}`;
