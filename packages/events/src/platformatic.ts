export {
  type PlatformaticKafkaTransportOptions,
  platformaticKafkaTransport,
} from './transport/platformatic/platformatic-transport.js';
