/**
 * The Nest app with Parley: Nest owns the HTTP server (Express underneath), the hub is attached
 * to it with `attachHub(hub, app.getHttpServer())` at `/parley`. Nest's own WebSocket gateways,
 * if any, keep their paths: the node adapter only takes upgrades for its path.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Hub } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { AppModule } from './app.module.js';
import { PARLEY_HUB } from './hub.js';

export async function createApp(): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  attachHub(app.get<Hub>(PARLEY_HUB), app.getHttpServer(), { path: '/parley' });
  app.enableShutdownHooks();
  return app;
}
