// Build of the supervisor console: `scripts/build_console.sh` runs it (npm ci + vite build)
// and then tools/build-info.mjs, which writes the licences and the build manifest.
import { writeFileSync } from 'node:fs'
import { relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

const here = fileURLToPath(new URL('.', import.meta.url))

/** The package-lock.json key ("node_modules/x" or "node_modules/a/node_modules/x") of the npm
 * package a bundled module comes from; virtual helper modules belong to the tool that injects them. */
function packageOf(id) {
  if (id.startsWith('\0plugin-vue')) return 'node_modules/@vitejs/plugin-vue'
  if (id.startsWith('\0')) return 'node_modules/vite'
  const rel = relative(here, id.split('?')[0]).split(sep).join('/')
  const at = rel.lastIndexOf('node_modules/')
  if (at < 0) return null
  const parts = rel.slice(at + 'node_modules/'.length).split('/')
  const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  return `${rel.slice(0, at)}node_modules/${name}`
}

/** Records which packages end up in the bundle (read by tools/build-info.mjs). */
function bundledPackages() {
  return {
    name: 'counterwatch-bundled-packages',
    generateBundle(_options, bundle) {
      const found = new Set()
      for (const item of Object.values(bundle)) {
        for (const id of Object.keys(item.modules || {})) {
          const p = packageOf(id)
          if (p) found.add(p)
        }
        for (const id of item.originalFileNames || []) {
          const p = packageOf(id)
          if (p) found.add(p)
        }
      }
      writeFileSync(`${here}node_modules/.counterwatch-bundled.json`, JSON.stringify([...found].sort(), null, 1))
    },
  }
}

export default defineConfig({
  root: here,
  base: '/static/',
  plugins: [vue(), bundledPackages()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1200,
    // Chromium has <link rel=modulepreload>; the polyfill would be one more inlined helper.
    modulePreload: { polyfill: false },
    target: 'es2020',
    rollupOptions: {
      // element-plus/es/index.mjs reads `installer.install` at the top level; with property reads
      // counted as side effects that keeps every component in the bundle, used or not.
      treeshake: { propertyReadSideEffects: false },
      output: {
        // The libraries in chunks of their own, so that a page's code stays small and cached.
        manualChunks(id) {
          const p = packageOf(id)
          if (!p) return undefined
          if (/\/(echarts|zrender|tslib)$/.test(p)) return 'echarts'
          if (/\/wavesurfer\.js$/.test(p)) return 'wavesurfer'
          if (/\/(vue|vue-router|@vue\/[^/]+)$/.test(p)) return 'vue'
          if (p === 'node_modules/vite' || p === 'node_modules/@vitejs/plugin-vue') return undefined
          return undefined
        },
      },
    },
  },
})
