// ESLint 9 flat config: the page's modules (browser), the worker, and the
// Node scripts and tests.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['dist/', 'target/', 'node_modules/', 'test-output/', 'www/generated/', 'bench/out/'] },
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: 'error',
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
  { files: ['www/**/*.js'], languageOptions: { globals: globals.browser } },
  { files: ['www/vae-worker.js', 'www/worker/**/*.js'], languageOptions: { globals: globals.worker } },
  { files: ['**/*.mjs', 'eslint.config.js', 'scripts/**/*.js'], languageOptions: { globals: globals.node } },
  // page.evaluate() callbacks in the browser tests and benchmarks run in the page
  { files: ['tests/browser/**/*.mjs', 'bench/web/**/*.mjs'], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
];
