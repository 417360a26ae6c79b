// What the console says for a failed API call (src/errors.js) and how it writes an API URL (src/api/http.js).
import { describe, expect, it } from 'vitest'
import { apiUrl } from '../src/api/http.js'
import { ApiError, describeError } from '../src/errors.js'

describe('error sentences', () => {
  it('shows the API Chinese message, with the records it names', () => {
    expect(describeError(new ApiError(409, { code: 'in_use', message: '播放列表仍被排期使用', schedule_ids: [4, 9] })))
      .toBe('播放列表仍被排期使用（涉及排期 #4、#9）')
    expect(describeError(new ApiError(409, { code: 'in_use', message: '排期 #4 仍在使用', schedule_ids: [4] })))
      .toBe('排期 #4 仍在使用')
    expect(new ApiError(409, { code: 'in_use', message: 'x' }).code).toBe('in_use')
  })

  it('joins field errors, and falls back to a sentence per status', () => {
    expect(describeError(new ApiError(422, [{ message: '时间格式不对' }, {}])))
      .toBe('输入的内容不符合要求：时间格式不对；取值无效')
    expect(describeError(new ApiError(0, null))).toBe('无法连接服务器，请检查网络后重试')
    expect(describeError(new ApiError(429, null, 30))).toBe('请求过于频繁，请稍后再试')
    expect(describeError(new ApiError(418, 'teapot'))).toBe('请求失败（HTTP 418）')
  })

  it('never shows a script error message, only its kind', () => {
    expect(describeError(new TypeError('x is undefined'))).toBe('页面出错，请刷新后重试（TypeError）')
    expect(describeError(null)).toBe('页面出错，请刷新后重试（未知错误）')
  })
})

describe('API URLs', () => {
  it('leaves empty parameters out', () => {
    expect(apiUrl('/interactions', { counter: 'c1', q: '', staff: null, page: 0, since_s: undefined }))
      .toBe('/api/v1/interactions?counter=c1&page=0')
    expect(apiUrl('/sites', { q: '' })).toBe('/api/v1/sites')
    expect(apiUrl('/search', { q: '烦不烦' })).toBe('/api/v1/search?q=%E7%83%A6%E4%B8%8D%E7%83%A6')
  })
})
