// The console's numbers and times (src/format.js): site-local wall clock, durations, scores, sizes.
import { afterEach, describe, expect, it } from 'vitest'
import { dict } from '../src/dictionary.js'
import {
  addDays, clock, epochToWall, fmtOffset, fmtTime, hm, pct, pieces, points, secs, size, splitList, todayIn,
  wallToEpoch, zoneOf,
} from '../src/format.js'

const utc = (...a) => Date.UTC(...a) / 1000

afterEach(() => { dict.sites = [] })

describe('wall clock in the site zone', () => {
  it('shows unix seconds in the zone named, whatever the machine zone', () => {
    expect(epochToWall(1700000000, 'UTC')).toBe('2023-11-14 22:13:20')
    expect(epochToWall(1700000000, 'Asia/Shanghai')).toBe('2023-11-15 06:13:20')
    expect(epochToWall(0, 'Asia/Urumqi')).toBe('1970-01-01 06:00:00')
  })

  it('reads a wall time back as the same instant', () => {
    expect(wallToEpoch('2023-11-15 06:13:20', 'Asia/Shanghai')).toBe(1700000000)
    expect(wallToEpoch('2023-11-15T06:13:20', 'Asia/Shanghai')).toBe(1700000000)
    expect(wallToEpoch('2023-11-15', 'Asia/Shanghai')).toBe(utc(2023, 10, 14, 16))
    expect(wallToEpoch('2023-11-15 06:13', 'Asia/Shanghai')).toBe(utc(2023, 10, 14, 22, 13))
  })

  it('applies the offset in force on the day across a daylight-saving change', () => {
    // New York moved from UTC-5 to UTC-4 at 02:00 on 2026-03-08
    expect(wallToEpoch('2026-03-08 01:30:00', 'America/New_York')).toBe(utc(2026, 2, 8, 6, 30))
    expect(wallToEpoch('2026-03-08 03:30:00', 'America/New_York')).toBe(utc(2026, 2, 8, 7, 30))
    for (const t of ['2026-03-08 01:59:59', '2026-03-08 03:00:00', '2026-11-01 00:30:00', '2026-07-01 12:00:00']) {
      expect(epochToWall(wallToEpoch(t, 'America/New_York'), 'America/New_York')).toBe(t)
    }
  })

  it('takes the zone of the site named, else the first visible site, else China time', () => {
    expect(zoneOf()).toBe('Asia/Shanghai')
    dict.sites = [{ name: 'hq', timezone: 'Asia/Urumqi' }, { name: 'berlin', timezone: 'Europe/Berlin' }]
    expect(zoneOf()).toBe('Asia/Urumqi')
    expect(zoneOf('berlin')).toBe('Europe/Berlin')
    expect(zoneOf('no-such-site')).toBe('Asia/Urumqi')
    expect(fmtTime(0)).toBe('1970-01-01 06:00:00')
    expect(fmtTime(0, 'Europe/Berlin')).toBe('1970-01-01 01:00:00')
  })

  it('shows a missing time as a dash', () => {
    expect(fmtTime(null)).toBe('—')
    expect(fmtTime(undefined, 'UTC')).toBe('—')
    expect(fmtTime(0, 'UTC')).toBe('1970-01-01 00:00:00')
  })

  it('gives today as a date and counts days over month and year ends', () => {
    expect(todayIn('Asia/Shanghai')).toMatch(/^\d{4}-\d\d-\d\d$/)
    expect(addDays('2026-02-27', 2)).toBe('2026-03-01')
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29')
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31')
    expect(addDays('2026-12-07', -7)).toBe('2026-11-30')
  })

  it('shows an API time as it was written, without the zone', () => {
    expect(clock('2026-12-07T15:04:05.123+08:00')).toBe('2026-12-07 15:04:05')
    expect(clock(null)).toBe('')
    expect(hm('08:00:00')).toBe('08:00')
    expect(hm('08:00:30')).toBe('08:00:30')
    expect(hm(null)).toBe(null)
  })
})

describe('durations, scores and sizes', () => {
  it('shows an offset into a recording as minutes:seconds', () => {
    expect(fmtOffset(5)).toBe('0:05')
    expect(fmtOffset(75.9)).toBe('1:15')
    expect(fmtOffset(3600)).toBe('60:00')
  })

  it('shows seconds without trailing zeros', () => {
    expect(secs(3)).toBe('3')
    expect(secs('0.50')).toBe('0.5')
    expect(secs(1.999)).toBe('2')
    expect(secs(12.25)).toBe('12.25')
  })

  it('shows shares as percentages and scores as points, a dash where there is none', () => {
    expect(pct(0.1234)).toBe('12.3%')
    expect(pct(0)).toBe('0.0%')
    expect(pct(1)).toBe('100.0%')
    expect(pct(null)).toBe('—')
    expect(points(92)).toBe('92.0 分')
    expect(points('85.44')).toBe('85.4 分')
    expect(points(0)).toBe('0.0 分')
    expect(points(undefined)).toBe('—')
  })

  it('shows file sizes in KB (at least 1) or MB', () => {
    expect(size(0)).toBe('1 KB')
    expect(size(10240)).toBe('10 KB')
    expect(size(1048575)).toBe('1024 KB')
    expect(size(1048576)).toBe('1.0 MB')
    expect(size(5.5 * 1048576)).toBe('5.5 MB')
  })
})

describe('text helpers', () => {
  it('splits a list typed with either comma or spaces', () => {
    expect(splitList('a, b，c  d')).toEqual(['a', 'b', 'c', 'd'])
    expect(splitList('')).toEqual([])
    expect(splitList(null)).toEqual([])
  })

  it('cuts a text into marked and unmarked pieces', () => {
    expect(pieces('您好请问', [[0, 2]])).toEqual([{ text: '您好', hit: true }, { text: '请问', hit: false }])
    expect(pieces('abc', null)).toEqual([{ text: 'abc', hit: false }])
    expect(pieces('abcdef', [[1, 2], [4, 6]]).map((p) => (p.hit ? `[${p.text}]` : p.text)).join(''))
      .toBe('a[b]cd[ef]')
  })
})
