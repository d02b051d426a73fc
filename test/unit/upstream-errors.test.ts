import { describe, expect, it } from 'vitest'
import { upstreamError } from '../../src/proxy/upstream-errors.js'

/** Node's codes for the same TLS alert differ by OpenSSL line: 3.0 (Node 20) and 3.5 (Node 22, 26). */
const failure = (code: string) => Object.assign(new Error(code), { code })

describe('upstreamError', () => {
  it.each([
    // Real Flink answering an unpinned client certificate (seen from Node 20 and Node 22 against 1.20 and 2.3).
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', 'FG_ERR_UPSTREAM_CLIENT_CERT'],
    ['ERR_SSL_SSL/TLS_ALERT_CERTIFICATE_UNKNOWN', 'FG_ERR_UPSTREAM_CLIENT_CERT'],
    // ... and no client certificate at all.
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'FG_ERR_UPSTREAM_CLIENT_CERT'],
    ['ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE', 'FG_ERR_UPSTREAM_CLIENT_CERT'],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'FG_ERR_UPSTREAM_CLIENT_CERT'],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'FG_ERR_UPSTREAM_CLIENT_CERT'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'FG_ERR_UPSTREAM_TLS'],
    ['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', 'FG_ERR_UPSTREAM_TLS'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'FG_ERR_UPSTREAM_TLS'],
    ['ECONNRESET', 'FG_ERR_UPSTREAM_UNREACHABLE'],
    ['ECONNREFUSED', 'FG_ERR_UPSTREAM_UNAVAILABLE'],
    // Not an alert Flink's side sends about us: stays a plain failure to reach it.
    ['ERR_SSL_SSL/TLS_ALERT_CLOSE_NOTIFY', 'FG_ERR_UPSTREAM_UNREACHABLE'],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN_X', 'FG_ERR_UPSTREAM_UNREACHABLE'],
  ])('%s is %s', (code, expected) => {
    expect(upstreamError(failure(code)).code).toBe(expected)
  })
})
