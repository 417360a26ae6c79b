/* The ECharts canvas every chart component draws on: made when the component mounts, redrawn
 * when its data change, resized with the window, disposed with the component. */
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import * as echarts from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'
import { onBeforeUnmount, onMounted, watch } from 'vue'

echarts.use([GridComponent, LegendComponent, TooltipComponent, AriaComponent, CanvasRenderer])

/** Text size of the charts (labels at least 12 px). */
export const FONT = 13

/** A chart of `kind` (an ECharts chart module) in `box` (a template ref): `option()` draws it,
 * `height()` sizes it, a change of `source()` redraws it, a click goes to `onClick(params)`. */
export function useChart(box, { kind, option, height, source, onClick }) {
  echarts.use([kind])
  let chart = null
  const resize = () => chart && chart.resize()
  onMounted(() => {
    box.value.style.height = height()
    chart = echarts.init(box.value, null, { renderer: 'canvas' })
    chart.setOption(option())
    chart.on('click', onClick)
    window.addEventListener('resize', resize)
  })
  watch(source, () => {
    box.value.style.height = height()
    chart.resize()
    chart.setOption(option(), { notMerge: true })
  }, { deep: true })
  onBeforeUnmount(() => {
    window.removeEventListener('resize', resize)
    if (chart) chart.dispose()
  })
}
