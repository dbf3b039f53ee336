import tseslint from 'typescript-eslint';

const ASK = { selector: 'MemberExpression[property.name=/^(showQuickPick|showInputBox|createQuickPick|createInputBox)$/]', message: 'use pickOne, pickMany, askText or createPick from src/vscode/ask.ts' };
const NOTIFY = {
  selector: 'MemberExpression[property.name=/^(showInformationMessage|showWarningMessage|showErrorMessage|withProgress)$/]',
  message: 'use notify, askModal or withProgress from src/vscode/notify.ts (they make outside names in the text inert)',
};

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
    // prompts go through src/vscode/ask.ts, which keeps them open when a webview takes focus back; messages and
    // progress through src/vscode/notify.ts, which makes the outside names in them inert (no command links, no icons)
    files: ['src/**/*.ts'],
    ignores: ['src/vscode/ask.ts', 'src/vscode/notify.ts'],
    rules: { 'no-restricted-syntax': ['error', ASK, NOTIFY] },
  },
  { files: ['src/vscode/ask.ts'], rules: { 'no-restricted-syntax': ['error', NOTIFY] } },
  { files: ['src/vscode/notify.ts'], rules: { 'no-restricted-syntax': ['error', ASK] } },
  {
    // The pure layers never load vscode at run time (type imports are fine).
    files: ['src/core/**/*.ts', 'src/transport/**/*.ts', 'src/services/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'core, transport and services must not import vscode at run time', allowTypeImports: true }] }],
    },
  },
  {
    // core is pure: no ssh2 and no Node I/O either
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [
        { name: 'vscode', message: 'core is pure', allowTypeImports: true },
        { name: 'ssh2', message: 'core is pure', allowTypeImports: true },
      ] }],
    },
  },
);
