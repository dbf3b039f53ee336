/** Composition root: build the services, register the tree and commands, wire settings. */
import * as vscode from 'vscode';
import { addHost } from './commands/host/addHost';
import { connectHost } from './commands/host/connectHost';
import { disconnectHost } from './commands/host/disconnectHost';
import { refreshHosts } from './commands/host/refreshHosts';
import { removeHost } from './commands/host/removeHost';
import { LIFECYCLE_VERBS, runLifecycle } from './commands/domain/lifecycle';
import { migrateDomains, showProgress } from './commands/domain/migrate';
import { syncConntrackCommand } from './commands/conntrack/syncConntrack';
import { compareRuns, importRunCommand, showMonitor } from './commands/migration/monitor';
import { abortMigration, setBandwidth, setMaxDowntime, switchToPostcopy } from './commands/migration/steer';
import { upgradeQemu } from './commands/domain/upgradeQemu';
import { removeInterfaceLimit } from './commands/qos/removeInterfaceLimit';
import { setInterfaceBandwidth } from './commands/qos/setInterfaceBandwidth';
import { showInterfaceTraffic } from './commands/qos/showInterfaceTraffic';
import { MigrationRunner } from './services/migration';
import { QosService } from './services/qos';
import { QemuBinaries } from './services/qemuBinaries';
import type { ServiceSettings } from './services/settings';
import { ExtensionMigrationStore } from './vscode/migrationStore';
import { HostRegistry } from './services/hostRegistry';
import { HostsTreeProvider } from './views/hostsTree';
import { MonitorPanels } from './views/monitorPanel';
import { TrafficPanels } from './views/trafficPanel';
import { config } from './vscode/config';
import type { FerryContext } from './vscode/context';
import { Commands, Settings, Views } from './vscode/contributions';
import { createLog } from './vscode/log';
import { confirmHostKey, Passphrases } from './vscode/prompts';
import type { CommandFailure } from './commands/runner';
import { CommandRunner } from './commands/runner';

export interface FerryApi {
  context: FerryContext;
  tree: HostsTreeProvider;
  panels: MonitorPanels;
  /** a command's error as its user saw it (commands show errors instead of throwing them) */
  onDidFailCommand: vscode.Event<CommandFailure>;
  /** the next run of a command is answered from a list instead of the window (tests, other tools) */
  answerNextRun: CommandRunner['answerNextRun'];
}

export function activate(extension: vscode.ExtensionContext): FerryApi {
  const { channel, logger } = createLog();
  // read by the services as data; kept current below when the user changes the settings
  const settings: ServiceSettings = { sshConfigPath: config.sshConfigPath(), libvirtUri: config.libvirtUri() };
  const passphrases = new Passphrases(extension.secrets, extension.globalState);
  const registry = new HostRegistry(
    {
      connection: {
        connectTimeoutMs: config.connectTimeoutMs(),
        keepaliveIntervalMs: config.keepaliveIntervalMs(),
        askPassphrase: passphrases.ask,
        rememberedPassphrase: passphrases.remembered,
        confirmHostKey,
      },
      settings,
    },
    logger,
  );
  const migrationStore = new ExtensionMigrationStore(extension);
  const migrations = new MigrationRunner(registry, migrationStore, settings, logger);
  const qos = new QosService(settings, logger);
  const qemu = new QemuBinaries(registry, logger);
  const ctx: FerryContext = {
    registry,
    migrations,
    migrationStore,
    qos,
    qemu,
    qosRateUnit: config.qosRateUnit,
    saveRestoreMaxPauseSeconds: config.saveRestoreMaxPauseSeconds,
    inPlace: config.inPlace,
    inPlacePostcopy: config.inPlacePostcopy,
    libvirtUri: config.libvirtUri,
    conntrackBudgetMs: config.conntrackBudgetMs,
    log: logger,
    showLog: () => channel.show(),
  };
  const panels = new MonitorPanels(ctx, extension.extensionUri);
  const trafficPanels = new TrafficPanels(ctx, extension.extensionUri);
  const tree = new HostsTreeProvider(registry, migrations, { qos, rateUnit: config.qosRateUnit }, qemu);
  const view = vscode.window.createTreeView(Views.hosts, {
    treeDataProvider: tree,
    canSelectMany: true,
    showCollapseAll: true,
  });
  const commandFailures = new vscode.EventEmitter<CommandFailure>();
  const commands = new CommandRunner(ctx, { tree, panels, traffic: trafficPanels }, (f) => commandFailures.fire(f));
  const command = commands.register.bind(commands);

  extension.subscriptions.push(
    channel,
    commandFailures,
    registry,
    migrations,
    qemu,
    panels,
    trafficPanels,
    tree,
    view,
    command(Commands.hostAdd, addHost),
    command(Commands.hostRemove, removeHost),
    command(Commands.hostConnect, connectHost),
    command(Commands.hostDisconnect, disconnectHost),
    command(Commands.inventoryRefresh, refreshHosts),
    command(Commands.logShow, () => channel.show()),
    command(Commands.domainMigrate, migrateDomains),
    command(Commands.migrationAbort, abortMigration),
    command(Commands.migrationSetBandwidth, setBandwidth),
    command(Commands.migrationSetMaxDowntime, setMaxDowntime),
    command(Commands.migrationPostcopy, switchToPostcopy),
    command(Commands.migrationShowMonitor, showMonitor),
    command(Commands.migrationCompare, compareRuns),
    command(Commands.migrationImportRun, importRunCommand),
    command(Commands.conntrackSync, syncConntrackCommand),
    command(Commands.interfaceSetBandwidth, setInterfaceBandwidth),
    command(Commands.interfaceRemoveLimit, removeInterfaceLimit),
    command(Commands.qemuUpgrade, upgradeQemu),
    command(Commands.interfaceShowTraffic, showInterfaceTraffic),
    ...LIFECYCLE_VERBS.map((verb) =>
      command(verb.command, (c, clicked?, selected?) => runLifecycle(c, verb, clicked, selected)),
    ),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(Settings.sshConfigFile) || e.affectsConfiguration(Settings.libvirtUri))
        Object.assign(settings, { sshConfigPath: config.sshConfigPath(), libvirtUri: config.libvirtUri() });
      if (e.affectsConfiguration(Settings.hosts)) registry.setHosts(config.hosts());
      if (e.affectsConfiguration(Settings.qosRateUnit)) tree.refreshAll();
      if (e.affectsConfiguration(Settings.rememberPassphrases) && !config.rememberPassphrases()) {
        void passphrases
          .forgetAll()
          .then(
            (n) =>
              n && logger.info(`ssh: ${n} remembered passphrase(s) deleted (ferry.ssh.rememberPassphrases is off)`),
          );
      }
    }),
  );
  registry.setHosts(config.hosts());
  // migrations that were running when the window closed: watch them again and show their progress
  for (const { record, done } of migrations.reattach()) void showProgress(ctx, record, done);
  logger.info(`Ferry activated with ${config.hosts().length} host(s); ssh config ${config.sshConfigPath()}`);
  return {
    context: ctx,
    tree,
    panels,
    onDidFailCommand: commandFailures.event,
    answerNextRun: commands.answerNextRun.bind(commands),
  };
}

export function deactivate(): void {}
