// Starts a PDS with a local PLC directory (@atproto/dev-env's TestNetworkNoAppView) on the
// loopback ports in PDS_PORT and PLC_PORT, prints one JSON line when it answers, and closes
// it on SIGTERM or SIGINT. Run with the Node.js 22 that install.sh brings.
const { TestNetworkNoAppView } = require('@atproto/dev-env')

;(async () => {
  const net = await TestNetworkNoAppView.create({
    pds: { port: Number(process.env.PDS_PORT) },
    plc: { port: Number(process.env.PLC_PORT) },
  })
  const stop = async () => {
    await net.close().catch(() => {})
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  console.log(JSON.stringify({ pds: net.pds.url, plc: net.plc.url }))
})().catch((e) => {
  console.error('FAILED', e)
  process.exit(1)
})
