/**
 * Ferry's layers (shared/design/architecture.md), checked by `npm run lint`: imports only point down.
 *   extension.ts → commands → views → vscode/ → services → remote → transport → core
 * core is pure (no vscode, no ssh2, nothing of Ferry's outer layers); transport is Node only (no vscode);
 * remote holds the programs run on hosts (scripts/*.sh) and their argv builders, used by services only;
 * services hold no UI; views reach commands only by id; src/browser/ is the bundle the webview pages load: it
 * takes only core and its own files; no cycles anywhere.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'a cycle ties modules that should stand apart',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'core: models, argv builders, parsers, rules; no vscode, no ssh2, nothing from an outer layer',
      from: { path: '^src/core/' },
      to: {
        path: '^src/(remote|transport|services|vscode|views|commands|browser)/|^src/extension\\.ts$|^(vscode|ssh2)$',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'core-types-stay-in-core',
      severity: 'error',
      comment: 'core may not even name the types of an outer layer',
      from: { path: '^src/core/' },
      to: { path: '^src/(remote|transport|services|vscode|views|commands|browser)/' },
    },
    {
      name: 'transport-only-core',
      severity: 'error',
      comment:
        'transport: ssh2 and Node; of Ferry only core (and the types of remote/remoteHost.ts, the interface it implements)',
      from: { path: '^src/transport/' },
      to: {
        path: '^src/(remote|services|vscode|views|commands|browser)/|^src/extension\\.ts$|^vscode$',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'remote-below-services',
      severity: 'error',
      comment: 'remote: the scripts run on hosts and their argv builders; of Ferry only core and transport',
      from: { path: '^src/remote/' },
      to: { path: '^src/(services|vscode|views|commands|browser)/|^src/extension\\.ts$|^vscode$' },
    },
    {
      name: 'remote-only-for-services',
      severity: 'error',
      comment: 'views, commands and the vscode glue reach hosts through services, never a script builder of their own',
      from: { path: '^src/(views|commands|vscode)/' },
      to: { path: '^src/remote/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'browser-bundle-only-core',
      severity: 'error',
      comment: 'the browser bundle (src/browser/) runs in the webview: of Ferry only core and its own files',
      from: { path: '^src/browser/' },
      to: { path: '^src/', pathNot: '^src/(core|browser)/' },
    },
    {
      name: 'services-no-ui',
      severity: 'error',
      comment: 'services: orchestration without UI; questions come in as callbacks',
      from: { path: '^src/services/' },
      to: {
        path: '^src/(vscode|views|commands|browser)/|^src/extension\\.ts$|^vscode$',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'views-not-commands',
      severity: 'error',
      comment: 'commands may use views (their nodes); views reach commands by id (vscode.commands), never by import',
      from: { path: '^src/views/' },
      to: { path: '^src/commands/' },
    },
    {
      name: 'vscode-glue-not-above',
      severity: 'error',
      comment: 'src/vscode is glue shared by views, commands and panels: it imports none of them',
      from: { path: '^src/vscode/' },
      to: { path: '^src/(views|commands)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'nothing-imports-the-root',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/extension\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^src/browser/monitor\\.ts$' },
  },
};
