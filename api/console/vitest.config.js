// Unit tests of the console's plain modules (`npm run test:unit`, run by scripts/build_console.sh):
// tests/*.test.js in Node, no browser; the pages themselves are tested in Chromium by pytest.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: { include: ['tests/**/*.test.js'], environment: 'node' },
})
