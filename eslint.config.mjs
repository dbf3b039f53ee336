import tseslint from 'typescript-eslint';

const ASK = {
  selector: 'MemberExpression[property.name=/^(showQuickPick|showInputBox|createQuickPick|createInputBox)$/]',
  message: 'ask through a UserInput: ctx.ui in a command, windowInput (src/vscode/windowInput.ts) elsewhere',
};
const WINDOW_PROMPT_IN_COMMAND = {
  selector: 'ImportDeclaration[source.value=/windowInput$/], ImportSpecifier[imported.name="askModal"]',
  message: "a command asks through ctx.ui (its context's UserInput), not the window's prompts directly",
};
const NOTIFY = {
  selector:
    'MemberExpression[property.name=/^(showInformationMessage|showWarningMessage|showErrorMessage|withProgress)$/]',
  message: 'use notify, askModal or withProgress from src/vscode/notify.ts (they make outside names in the text inert)',
};

// Programs run on hosts are files (src/remote/scripts/*.sh), imported as text by src/remote's builders: no shell or
// awk in a TypeScript string. What gives one away: a command substitution, an awk program, a here-document, set --,
// an if … then … fi or a for/while … do … done, a quoted "$1" or "$@", ${1…}, a redirection to /dev/null.
// A codicon in a label ($(server), $(sync~spin), or `$(${icon})`) is no command substitution.
const SCRIPT_TEXT = String.raw`/\$\((?![\w~-]*(\)|$))|\bawk '|<<-?'|\bset -- |\bthen\b.*\bfi\b|;\s*do\b.*\bdone\b|"\$[0-9@#?!]"|\$\{[0-9#]|>\s*\x2fdev\x2fnull|\bexit \$\?/s`;
const SCRIPT_MESSAGE =
  'shell or awk text belongs in a file under src/remote/scripts/, imported by a builder in src/remote/';
const SCRIPT = [
  { selector: `Literal[value=${SCRIPT_TEXT}]`, message: SCRIPT_MESSAGE },
  { selector: `TemplateElement[value.raw=${SCRIPT_TEXT}]`, message: SCRIPT_MESSAGE },
];

// Every text a person reads in the window goes through vscode.l10n.t (src/commands, src/views, src/vscode,
// extension.ts): `vscode.l10n.t('Migrating {0} {1} → {2}', name, source, target)`, whose first argument is a plain
// string literal so that @vscode/l10n-dev finds it (bash scripts/l10n.sh writes l10n/bundle.l10n.json from them).
// A string "has words" when it holds a letter outside a codicon: ' · ', '', '0-255', `$(server) ${alias}` and
// `${a}: ${b}` carry none and stay as they are.
const WORDS = String.raw`/(?<!\$\([\w~-]*)[A-Za-z]/`;
const WORDY = `:matches(Literal[value=${WORDS}], TemplateElement[value.cooked=${WORDS}])`;
// how a text is put together (a template, a choice, a fallback, a concatenation); a call, t() among them, ends it
const PARTS = ':matches(TemplateLiteral, ConditionalExpression, LogicalExpression, BinaryExpression[operator="+"])';
const L10N_TEXT_MESSAGE =
  "user-facing text goes through vscode.l10n.t('… {0} …', value): no string with words in a message, button, title, placeholder, prompt, label, description, detail, tooltip or error";
// the places a text is shown from; each gets the selector of the node standing there
const TEXT_PLACES = [
  // notify(severity, message, ...buttons), askModal(severity, message, detail, ...buttons), ctx.ui.askModal(…)
  (node) =>
    `CallExpression:matches([callee.name=/^(notify|askModal)$/], [callee.property.name="askModal"]) > ${node}:not(:first-child)`,
  // quick pick and input box options and items, progress options and reports, message nodes, tree item commands
  (node) =>
    `Property[key.name=/^(title|placeHolder|placeholder|prompt|label|description|detail|message|tooltip|text)$/] > ${node}`,
  // item.description = …, panel.title = …
  (node) =>
    `AssignmentExpression[left.property.name=/^(title|placeHolder|placeholder|prompt|label|description|detail|message|tooltip|text)$/] > ${node}`,
  // errors thrown by a command or a view are what the command runner shows
  (node) => `NewExpression[callee.name="Error"] > ${node}`,
  // a validation message
  (node) => `Property[key.name="validateInput"] > ArrowFunctionExpression > ${node}`,
  // a webview panel's title, a tree item's label, a tooltip's text
  (node) => `CallExpression[callee.property.name="createWebviewPanel"] > ${node}:nth-child(2)`,
  (node) => `NewExpression[callee.property.name="TreeItem"] > ${node}:first-child`,
  (node) => `CallExpression[callee.property.name=/^(appendText|appendMarkdown)$/] > ${node}`,
  // Ferry's own pickers and prompts take their title or prompt first (after ctx), and a validation callback
  (node) =>
    `CallExpression[callee.name=/^(pickHost|pickDomain|pickMigration|pickRun|askNumber|interfacesFor|askChange|askScopes)$/] > ${node}`,
  (node) =>
    `CallExpression[callee.name=/^(pickHost|pickDomain|pickMigration|pickRun|askNumber|interfacesFor|askChange|askScopes)$/] > ArrowFunctionExpression > ${node}`,
];
const L10N = [
  ...TEXT_PLACES.flatMap((at) => [
    at(`Literal[value=${WORDS}]`),
    `${at(PARTS)} > ${WORDY}`,
    `${at(PARTS)} > ${PARTS} > ${WORDY}`,
    `${at(PARTS)} > ${PARTS} > ${PARTS} > ${WORDY}`,
  ]).map((selector) => ({ selector, message: L10N_TEXT_MESSAGE })),
  {
    selector:
      'CallExpression[callee.object.property.name="l10n"][callee.property.name="t"] > :first-child:not(Literal)',
    message:
      "vscode.l10n.t's message is a plain string literal with {0}, {1}… for the values (never a template or a variable): @vscode/l10n-dev extracts it",
  },
  {
    selector:
      'MemberExpression[object.property.name="l10n"][property.name="t"]:not(CallExpression > MemberExpression.callee), VariableDeclarator[init.property.name="l10n"], ImportSpecifier[imported.name="l10n"]',
    message: 'call vscode.l10n.t(…) itself: @vscode/l10n-dev finds no text passed through an alias',
  },
];
const UI_FILES = ['src/commands/**/*.ts', 'src/views/**/*.ts', 'src/vscode/**/*.ts', 'src/extension.ts'];

// what e2e/*.mjs may use without importing it: Node's globals, and the DOM's in code Playwright runs in the page
const E2E_NODE_GLOBALS = [
  'process',
  'console',
  'Buffer',
  'URL',
  'URLSearchParams',
  'fetch',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'TextEncoder',
  'TextDecoder',
  'AbortController',
];
const E2E_BROWSER_GLOBALS = ['document', 'window', 'getComputedStyle'];

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'media/dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // prompts go through src/vscode/windowInput.ts, which keeps them open when a webview takes focus back; messages and
    // progress through src/vscode/notify.ts, which makes the outside names in them inert (no command links, no icons)
    files: ['src/**/*.ts'],
    ignores: [...UI_FILES, 'src/transport/quote.ts'],
    rules: { 'no-restricted-syntax': ['error', ASK, NOTIFY, ...SCRIPT] },
  },
  // the UI layers, the same, and their texts go through vscode.l10n.t (L10N)
  {
    files: ['src/views/**/*.ts', 'src/vscode/**/*.ts', 'src/extension.ts'],
    ignores: ['src/vscode/windowInput.ts', 'src/vscode/notify.ts'],
    rules: { 'no-restricted-syntax': ['error', ASK, NOTIFY, ...SCRIPT, ...L10N] },
  },
  { files: ['src/vscode/windowInput.ts'], rules: { 'no-restricted-syntax': ['error', NOTIFY, ...SCRIPT, ...L10N] } },
  // a command asks through its context (ctx.ui), so a test or tool can answer the very same command
  {
    files: ['src/commands/**/*.ts'],
    ignores: ['src/commands/runner.ts'],
    rules: { 'no-restricted-syntax': ['error', ASK, WINDOW_PROMPT_IN_COMMAND, NOTIFY, ...SCRIPT, ...L10N] },
  },
  // the runner hands each run the window's prompts, or a script
  { files: ['src/commands/runner.ts'], rules: { 'no-restricted-syntax': ['error', ASK, NOTIFY, ...SCRIPT, ...L10N] } },
  { files: ['src/vscode/notify.ts'], rules: { 'no-restricted-syntax': ['error', ASK, ...SCRIPT, ...L10N] } },
  // the one place that turns argv into a command line: its fixed one-line bootstrap (`eval "$(printf %s … |
  // base64 -d)"`) is the quoting itself; the hang-up watcher is a file (src/transport/scripts/)
  { files: ['src/transport/quote.ts'], rules: { 'no-restricted-syntax': ['error', ASK, NOTIFY] } },
  {
    // The pure layers never load vscode at run time (type imports are fine).
    files: ['src/core/**/*.ts', 'src/transport/**/*.ts', 'src/services/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'vscode',
              message: 'core, transport and services must not import vscode at run time',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // core is pure: no ssh2 and no Node I/O either
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'vscode', message: 'core is pure', allowTypeImports: true },
            { name: 'ssh2', message: 'core is pure', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    // the real-VS-Code harness (e2e/*.mjs, plain JS, type-checked by tsconfig.e2e.json): Node scripts, whose
    // page.waitForFunction/evaluate callbacks run in the browser; a name from neither is a mistake
    files: ['e2e/**/*.mjs'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries([...E2E_NODE_GLOBALS, ...E2E_BROWSER_GLOBALS].map((name) => [name, 'readonly'])),
    },
    rules: { 'no-undef': 'error', '@typescript-eslint/consistent-type-imports': 'off' },
  },
);
