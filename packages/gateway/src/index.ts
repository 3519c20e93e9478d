export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { type Route, type RouteConfig, type RouteMatch, RouteTable } from './routing/route-table.js';
