// Lint of the supervisor console's sources (`npm run lint`, run by scripts/build_console.sh before
// the unit tests and the build; a warning fails it too): ESLint's recommended rules for JavaScript
// and eslint-plugin-vue's recommended rules for Vue 3, less the ones below, each with its reason.
import js from '@eslint/js'
import pluginVue from 'eslint-plugin-vue'
import globals from 'globals'

export default [
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['src/**/*.{js,vue}'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.browser } },
  },
  {
    files: ['*.config.js', 'tools/**/*.mjs', 'tests/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
  },
  {
    rules: {
      // `catch (e) { // why it is fine }` is the house idiom for an error deliberately dropped;
      // `({ text, ...p }) => p` is how a field is left out of a copy.
      'no-unused-vars': ['error', { caughtErrors: 'none', ignoreRestSiblings: true }],
      // Layout of templates: the console writes short elements on one line (attributes and text
      // beside the tag); these rules are formatting, not defects, and would rewrite every view.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/first-attribute-linebreak': 'off',
      'vue/html-indent': 'off',
    },
  },
  {
    // The ticket's QR code is an SVG that the API draws itself (segno, from the ticket's own URL);
    // no text a person typed reaches it.
    files: ['src/views/KioskView.vue'],
    rules: { 'vue/no-v-html': 'off' },
  },
]
