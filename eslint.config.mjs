// ESLint as docker/actions-toolkit sets it up (flat config, Prettier owning the layout), with
// typescript-eslint's type-checked recommended rules over the sources, tests and scripts.
import js from '@eslint/js';
import eslintConfigPrettier from 'eslint-config-prettier/flat';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {ignores: ['dist/**', 'build/**', '.build-*/**', 'node_modules/**', '__tests__/fixtures/**']},
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: {...globals.node},
      parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}
    }
  },
  {
    // node:test's describe() and it() return promises the runner itself awaits.
    files: ['__tests__/**/*.ts'],
    rules: {
      // Fixtures and callbacks keep the async signature their callers expect, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-floating-promises': ['error', {allowForKnownSafeCalls: [{from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach', 'suite']}]}]
    }
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked
  },
  eslintConfigPrettier
);
