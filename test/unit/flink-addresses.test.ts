import { describe, expect, it } from 'vitest'
import { addressFieldOf, publicUrlOf, rebaseAddress } from '../../src/proxy/flink-addresses.js'

describe('rebasing the address Flink reports of itself', () => {
  it.each([
    ['/jars', 'address'],
    ['/jobs/:jobid/jobmanager/log-url', 'url'],
    ['/jobs/:jobid/taskmanagers/:taskmanagerid/log-url', 'url'],
    ['/taskmanagers', null],
    ['/jobmanager/config', null],
    [undefined, null],
  ])('%s: field %s', (template, field) => {
    expect(addressFieldOf(template)).toBe(field)
  })

  it.each([
    // As 1.20.5 and 2.3.0 answered in test/flink: the base URL alone, and the base URL plus a dashboard route.
    ['http://127.0.0.1:39869', 'https://gw:8443/clusters/a'],
    ['http://127.0.0.1:39869/#/job-manager/logs', 'https://gw:8443/clusters/a/#/job-manager/logs'],
    [
      'https://[::1]:8081/#/task-manager/tm:1-a/logs',
      'https://gw:8443/clusters/a/#/task-manager/tm:1-a/logs',
    ],
    ['HTTP://JM.example.com:8081', 'https://gw:8443/clusters/a'],
  ])('%s becomes %s', (flink, gateway) => {
    expect(rebaseAddress({ url: flink, other: 1 }, 'url', 'https://gw:8443/clusters/a')).toEqual({
      url: gateway,
      other: 1,
    })
  })

  it.each([
    [{ address: 'jm:8081' }],
    [{ address: 'javascript:alert(1)' }],
    [{ address: 42 }],
    [{}],
    [[{ address: 'http://x' }]],
    [null],
    ['http://x'],
  ])('changes nothing in %j', (body) => {
    expect(rebaseAddress(body, 'address', 'https://gw')).toBeNull()
  })

  it.each([
    [
      'https',
      'gw.example.com:8443',
      { host: null, path: '/clusters/a' },
      'https://gw.example.com:8443/clusters/a',
    ],
    ['http', 'gw', { host: null, path: '' }, 'http://gw'],
    [
      'https',
      'gw.example.com:8443',
      { host: 'application-1-0001.yarn.example.com', path: '' },
      'https://application-1-0001.yarn.example.com:8443',
    ],
    ['https', '[::1]', { host: 'app.yarn.test', path: '' }, 'https://app.yarn.test'],
    ['https', '[::1]:9', { host: null, path: '/proxy/x' }, 'https://[::1]:9/proxy/x'],
  ])('%s://%s with %j is %s', (protocol, host, base, url) => {
    expect(publicUrlOf(protocol, host, base)).toBe(url)
  })
})
