import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveCiphers } from '../../src/tls/ciphers.js'
import { PinSet, parsePin } from '../../src/tls/fingerprint.js'
import { keyMaterialFromKeystore, trustAnchors } from '../../src/tls/stores.js'

const F = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/tls', name))
const KS = 'rest_keystore_password'
const TS = 'rest_truststore_password'

describe('keystores, detected by content', () => {
  it.each([
    ['rest.keystore', {}, 'rsa', ['CN=localhost']],
    ['rest.signed.keystore', {}, 'rsa', ['CN=localhost']],
    ['rest.signed.jks', { keyPassword: 'rest_key_password' }, 'rsa', ['CN=localhost']],
    ['rest.ec.keystore', {}, 'ec', ['CN=localhost']],
  ])('reads %s (Java 17 PKCS12 is PBES2/AES-256/HMAC-SHA256)', (file, options, keyType, subjects) => {
    const material = keyMaterialFromKeystore(F(file), { password: KS, ...options })
    expect(material.key.asymmetricKeyType).toBe(keyType)
    expect(material.chain.map((cert) => cert.subject)).toEqual(subjects)
    expect(material.chain[0]!.checkPrivateKey(material.key)).toBe(true)
  })

  it.each([
    ['rest.signed.keystore', { password: 'nope' }, 'wrong-store-password'],
    ['rest.signed.jks', { password: 'nope' }, 'wrong-store-password'],
    ['rest.signed.jks', { password: KS }, 'wrong-key-password'],
    ['corrupt.keystore', { password: KS }, 'corrupt'],
    ['ca.truststore', { password: TS }, 'no-key'],
    ['rest.signed.keystore', { password: KS, alias: 'other' }, 'alias'],
  ])('refuses %s with %o: %s', (file, options, problem) => {
    expect(() => keyMaterialFromKeystore(F(file), options)).toThrow(expect.objectContaining({ problem }))
  })
})

describe('truststores', () => {
  it.each([
    ['ca.pem', undefined, ['CN=Sample CA']],
    ['ca.cer', undefined, ['CN=Sample CA']],
    ['ca.truststore', TS, ['CN=Sample CA']],
    ['ca.truststore.jks', TS, ['CN=Sample CA']],
    // A keystore used as its own truststore trusts its trusted-certificate entries, not its key's chain.
    ['rest.signed.keystore', KS, ['CN=Sample CA']],
    ['rest.truststore', TS, ['CN=localhost']],
  ])('reads the anchors of %s', (file, password, subjects) => {
    expect(trustAnchors(F(file), password).map((cert) => cert.subject)).toEqual(subjects)
  })

  it('refuses an empty truststore and a keystore with no trusted entry', () => {
    expect(() => trustAnchors(F('empty.pem'), undefined)).toThrow(
      expect.objectContaining({ problem: 'no-certificate' }),
    )
    expect(() => trustAnchors(F('rest.keystore'), KS)).toThrow(
      expect.objectContaining({ problem: 'no-certificate' }),
    )
  })
})

describe('fingerprints', () => {
  const sha1 = '8A:2A:1B:22:9C:92:DA:73:CE:91:1C:93:92:5E:38:41:1B:C8:24:A4'
  it.each([sha1, sha1.toLowerCase(), sha1.replace(/:/g, ''), `sha1:${sha1}`, `SHA-1:${sha1}`])(
    'reads %s as SHA-1',
    (text) => {
      expect(parsePin(text)).toEqual({ algorithm: 'sha1', hex: sha1.replace(/:/g, '') })
    },
  )

  it.each(['', 'xyz', 'AB:CD', `sha256:${sha1}`, `${sha1}:00`])('refuses %j', (text) => {
    expect(typeof parsePin(text)).toBe('string')
  })

  it('matches a certificate by either digest', () => {
    const pins = new PinSet([parsePin(sha1) as never])
    expect(pins.matches({ fingerprint: sha1, fingerprint256: '00' })).toBe(true)
    expect(pins.matches({ fingerprint: sha1.replace('8A', '8B'), fingerprint256: '00' })).toBe(false)
  })

  it('never matches a peer that shows no certificate (a resumed TLS 1.2 session), and does not throw', () => {
    const pins = new PinSet([parsePin(sha1) as never])
    expect(pins.matches({})).toBe(false)
    expect(pins.matches({ fingerprint256: '00' })).toBe(false)
  })
})

describe('cipher names', () => {
  it('maps Java/IANA names (SSL_ prefix too) and passes OpenSSL names', () => {
    expect(
      resolveCiphers(
        'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, SSL_RSA_WITH_AES_128_CBC_SHA,DHE-RSA-AES256-GCM-SHA384',
      ),
    ).toEqual({
      ok: true,
      openssl: 'ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:DHE-RSA-AES256-GCM-SHA384',
    })
    expect(resolveCiphers(['TLS_AES_128_GCM_SHA256'])).toEqual({
      ok: true,
      openssl: 'TLS_AES_128_GCM_SHA256',
    })
  })

  it('names every unknown suite', () => {
    expect(resolveCiphers('TLS_FOO,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,bar')).toEqual({
      ok: false,
      unknown: ['TLS_FOO', 'bar'],
    })
    expect(resolveCiphers(' , ')).toEqual({ ok: false, unknown: [] })
  })
})
