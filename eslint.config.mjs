import tseslint from 'typescript-eslint';

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
    // prompts go through src/vscode/ask.ts, which keeps them open when a webview takes focus back
    files: ['src/**/*.ts'],
    ignores: ['src/vscode/ask.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: 'MemberExpression[property.name=/^(showQuickPick|showInputBox|createQuickPick|createInputBox)$/]', message: 'use pickOne, pickMany, askText or createPick from src/vscode/ask.ts' }],
    },
  },
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
