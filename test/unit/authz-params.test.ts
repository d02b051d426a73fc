import { describe, expect, it } from 'vitest'
import { isValidParam, PARAM_RULES } from '../../src/authz/params.js'
import { FLINK_ROUTES } from '../../src/authz/routes.js'

const HEX = '6b1af540c0c0bb3fcf1cfcb4a3d2a1b9'

describe('path parameter validation', () => {
  it('has a rule for every parameter used in the route table', () => {
    const names = new Set(
      FLINK_ROUTES.flatMap((r) => [...r.template.matchAll(/:([^/]+)/g)].map((m) => m[1]!)),
    )
    expect([...names].filter((name) => !(name in PARAM_RULES))).toEqual([])
  })

  it.each([
    ['jobid', HEX],
    ['vertexid', 'cbc357ccb763df2852fee8c4fc7d55f2'],
    ['triggerid', '00000000000000000000000000000000'],
    ['datasetid', HEX],
    ['applicationid', HEX],
    ['rescaleuuid', HEX],
    ['checkpointid', '0'],
    ['checkpointid', '42'],
    ['checkpointid', '9223372036854775807'],
    ['subtaskindex', '0'],
    ['subtaskindex', '2147483647'],
    ['attempt', '3'],
    ['taskmanagerid', '10.0.0.7:40123-5d2f1a'],
    ['taskmanagerid', 'container_1700000000000_0001_01_000002'],
    ['taskmanagerid', 'flink-taskmanager-1-1'],
    ['operatorid', HEX],
    ['operatorid', 'dataStreamCollect_12'],
    ['operatorid', 'collect-sink_1'],
    ['jarid', 'c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_WordCount.jar'],
    ['jarid', 'c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_my job (1).jar'],
    // Names real Flink stored for uploads in test/flink/routes.test.ts.
    ['jarid', 'c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_a+b.jar'],
    ['jarid', 'c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_jöb-日本.jar'],
    ['jarid', 'c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_v1..2.jar'],
    ['jarid', "c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_it's #1 [final].jar"],
    ['jarid', `c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_${'x'.repeat(214)}.jar`],
    ['filename', 'jobmanager.log'],
    ['filename', 'taskmanager.log.1'],
    ['filename', 'gc.log.0.current'],
  ])(':%s accepts %j', (name, value) => {
    expect(isValidParam(name, value)).toBe(true)
  })

  it.each([
    ['jobid', HEX.toUpperCase()],
    ['jobid', HEX.slice(1)],
    ['jobid', `${HEX}0`],
    ['jobid', 'overview'],
    ['jobid', ''],
    ['vertexid', `${HEX.slice(0, 31)}g`],
    ['triggerid', '..'],
    ['checkpointid', '-1'],
    ['checkpointid', '+1'],
    ['checkpointid', '007'],
    ['checkpointid', '9223372036854775808'],
    ['checkpointid', '99999999999999999999'],
    ['checkpointid', '1e3'],
    ['subtaskindex', '2147483648'],
    ['attempt', '-1'],
    ['attempt', '0x10'],
    ['taskmanagerid', '..'],
    ['taskmanagerid', 'a..b'],
    ['taskmanagerid', 'tm/1'],
    ['taskmanagerid', 'tm\\1'],
    ['taskmanagerid', 'tm 1'],
    ['taskmanagerid', 'x'.repeat(257)],
    ['operatorid', '../x'],
    ['jarid', 'evil.sh'],
    ['jarid', '.jar'],
    ['jarid', '../x.jar'],
    ['jarid', '..%2fx.jar'],
    ['jarid', 'a\\b.jar'],
    ['jarid', 'a/b.jar'],
    ['jarid', '..'],
    ['jarid', '../.jar'],
    ['jarid', '.hidden.jar'],
    ['jarid', 'a%2e.jar'],
    ['jarid', 'x.jar\u0000'],
    ['jarid', 'x\u0000.jar'],
    ['jarid', 'x\n.jar'],
    ['jarid', 'x\u2028.jar'],
    ['jarid', 'x\u202e.jar'],
    ['jarid', 'x.jar.sh'],
    ['jarid', `c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_${'é'.repeat(108)}.jar`],
    ['filename', '..'],
    ['filename', '..%2f..%2fetc%2fpasswd'],
    ['filename', '..%252f..%252fetc%252fpasswd'],
    ['filename', '../../etc/passwd'],
    ['filename', '..\\..\\etc\\passwd'],
    ['filename', '.bashrc'],
    ['filename', 'a..b'],
    ['filename', 'log\u0000'],
    ['filename', 'log\n'],
    ['filename', ''],
    ['filename', 'x'.repeat(256)],
    ['unknownparam', 'anything'],
    ['toString', 'x'],
  ])(':%s refuses %j', (name, value) => {
    expect(isValidParam(name, value)).toBe(false)
  })
})
