/** The Nest module: a REST controller next to the hub, which is a provider like any other. */
import {
  type BeforeApplicationShutdown,
  Body,
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  Post,
} from '@nestjs/common';
import type { Hub } from '@parley/server-adapter';
import { createChatHub, PARLEY_HUB } from './hub.js';

@Controller('api')
export class MessagesController {
  constructor(@Inject(PARLEY_HUB) private readonly hub: Hub) {}

  @Get('health')
  health(): { ok: true; connections: number } {
    return { ok: true, connections: this.hub.stats().connections };
  }

  /** Server code posting into a conversation (a bot, a webhook): the same path as client sends. */
  @Post('conversations/:id/messages')
  async post(@Param('id') conversationId: string, @Body() body: { text: string }) {
    return this.hub.publish(conversationId, { text: body.text, senderId: 'nest-bot' });
  }
}

/**
 * `app.close()` (and `enableShutdownHooks()` on SIGTERM) runs this before Nest closes its HTTP
 * server: every socket gets `shutdown` and 1012, and the clients reconnect and resume elsewhere.
 */
@Injectable()
export class HubShutdown implements BeforeApplicationShutdown {
  constructor(@Inject(PARLEY_HUB) private readonly hub: Hub) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.hub.close();
  }
}

@Module({
  controllers: [MessagesController],
  providers: [{ provide: PARLEY_HUB, useFactory: createChatHub }, HubShutdown],
})
export class AppModule {}
