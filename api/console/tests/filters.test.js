// The recordings' filters kept in the page's URL (src/filters.js).
import { describe, expect, it } from 'vitest'
import { FILTER_KEYS, fromQuery, toQuery } from '../src/filters.js'

describe('filters in the URL', () => {
  it('reads every known filter from a query, as strings, missing ones empty, unknown ones ignored', () => {
    const f = fromQuery({ counter: 'c1', since_s: 1700000000, assessable: true, redirect: '/audit' })
    expect(Object.keys(f)).toEqual(FILTER_KEYS)
    expect(f.counter).toBe('c1')
    expect(f.since_s).toBe('1700000000')
    expect(f.assessable).toBe('true')
    expect(f.q).toBe('')
    expect(f).not.toHaveProperty('redirect')
  })

  it('writes only the filters set, as strings (0 is a value, empty and null are not)', () => {
    const q = toQuery({ q: '', counter: 'c1', since_s: 0, until_s: 1700003600, rating: null, staff: undefined, foo: 'bar' })
    expect(q).toEqual({ counter: 'c1', since_s: '0', until_s: '1700003600' })
  })

  it('gives back the same link after a round trip', () => {
    const link = { q: '烦不烦', site: 'hq', counter: 'c3', rule: 'F01', review_state: 'pending', type: 'forbidden' }
    expect(toQuery(fromQuery(link))).toEqual(link)
    expect(toQuery(fromQuery({}))).toEqual({})
  })
})
