// A process standing in for a Flink REST endpoint that breaks in the ways a real one can: started as a child
// process by test/integration/flink-breaks.test.ts, so killing it is killing a real peer. It prints its port,
// then one line `streaming <path>` once a cut-able response has put its first bytes on the wire.
//   GET /jobmanager/log      Content-Length 64 MiB, 256 KiB sent, then nothing until killed
//   GET /jobmanager/stdout   chunked, 256 KiB sent in chunks, then nothing until killed
//   GET /garbage             bytes that are not HTTP, then the connection closed
//   GET /closed              the connection closed without an answer
//   anything else            200 {} after reading the whole body (POST /jars/upload included)
import { createServer } from 'node:net'

const HEAD_END = '\r\n\r\n'
const CUT_BYTES = 256 * 1024

function answer(socket, path) {
  if (path === '/garbage') {
    socket.end('SSH-2.0-OpenSSH_9.6\r\n\u0000\u00ff not http\r\n\r\n')
  } else if (path === '/closed') {
    socket.destroy()
  } else if (path === '/jobmanager/log') {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${64 * 1024 * 1024}\r\n\r\n`)
    socket.write(Buffer.alloc(CUT_BYTES, 'a'))
    process.stdout.write(`streaming ${path}\n`)
  } else if (path === '/jobmanager/stdout') {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n')
    for (let sent = 0; sent < CUT_BYTES; sent += 16 * 1024)
      socket.write(`4000\r\n${'b'.repeat(16 * 1024)}\r\n`)
    process.stdout.write(`streaming ${path}\n`)
  } else {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}')
    return true
  }
  return false
}

const server = createServer((socket) => {
  let head = ''
  let bodyLeft = 0
  let path = null
  // One request at a time per connection; a plain answer leaves the connection ready for the next.
  const respond = () => {
    if (answer(socket, path)) {
      head = ''
      path = null
    }
  }
  socket.on('error', () => {})
  socket.on('data', (chunk) => {
    if (path !== null) {
      bodyLeft -= chunk.length
      if (bodyLeft <= 0) respond()
      return
    }
    head += chunk.toString('latin1')
    const end = head.indexOf(HEAD_END)
    if (end === -1) return
    path = head.split(' ')[1] ?? '/'
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head.slice(0, end))
    bodyLeft = Number(length?.[1] ?? 0) - (head.length - end - HEAD_END.length)
    if (bodyLeft <= 0) respond()
  })
})
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`)
})
