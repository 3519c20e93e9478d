// Readiness probe for scripts/services/cassandra.sh: connects with the DataStax
// driver (the repo's devDependency) and runs a real CQL query. Exit 0 when the
// node answers `SELECT release_version FROM system.local`, 1 otherwise.
//   node ready.cjs <host> <port>
'use strict';
let cassandra;
try {
  cassandra = require('cassandra-driver');
} catch {
  console.error('cassandra readiness: cassandra-driver is not installed (run npm ci at the repo root)');
  process.exit(2);
}
const [host = '127.0.0.1', port = '9042'] = process.argv.slice(2);
const client = new cassandra.Client({
  contactPoints: [`${host}:${port}`],
  localDataCenter: 'datacenter1',
  socketOptions: { connectTimeout: 2000, readTimeout: 3000 },
  pooling: { warmup: false },
});
const timer = setTimeout(() => process.exit(1), 8000);
client
  .execute('SELECT release_version FROM system.local')
  .then((result) => {
    const version = result.first()?.release_version;
    if (process.argv.includes('--print')) console.log(version);
    return client.shutdown().then(() => {
      clearTimeout(timer);
      process.exit(version ? 0 : 1);
    });
  })
  .catch(() => process.exit(1));
