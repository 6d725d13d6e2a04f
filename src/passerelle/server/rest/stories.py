"""REST endpoints of stories (docs/protocol.md §12): post, list (metadata only), delete, and the
``cross_app`` setting. Story content never passes here: it travels end-to-end encrypted over Olm."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passerelle.proto.rest import stories as wire
from passerelle.server.auth import request_caller
from passerelle.server.declared import route
from passerelle.server.rest.io import endpoint, json_response, read_body
from passerelle.service.accounts.accounts import AccountService
from passerelle.service.stories.records import StoryRecord
from passerelle.service.stories.stories import StoryService, parse_story_id

TAG = "Stories"


def story_json(story: StoryRecord, *, mine: bool) -> wire.StoryInfo:
    return wire.StoryInfo(
        story=story.id,
        author=story.author,
        created_at=story.created_at,
        expires_at=story.expires_at,
        audience_size=story.audience_size if mine else msgspec.UNSET,
    )


class StoryRoutes:
    def __init__(self, *, accounts: AccountService, stories: StoryService) -> None:
        self._accounts = accounts
        self._stories = stories

    def routes(self) -> list[BaseRoute]:
        return [
            route(
                "POST",
                "/v1/stories",
                self.post,
                body=wire.PostStory,
                answers={201: wire.PostedStory},
                tag=TAG,
                summary="Post a story to the caller's audience",
            ),
            route(
                "GET",
                "/v1/stories",
                self.list,
                answers={200: wire.Stories},
                tag=TAG,
                summary="The stories the caller may see",
            ),
            route(
                "GET",
                "/v1/stories/settings",
                self.settings,
                answers={200: wire.CrossApp},
                tag=TAG,
                summary="Whether the caller's stories reach people on other apps",
            ),
            route(
                "PATCH",
                "/v1/stories/settings",
                self.update_settings,
                body=wire.CrossAppChange,
                answers={200: wire.CrossApp},
                tag=TAG,
                summary="Change the stories' cross-app setting",
            ),
            route(
                "DELETE",
                "/v1/stories/{story}",
                self.delete,
                answers={204: None},
                tag=TAG,
                summary="Delete one of the caller's stories",
            ),
        ]

    @endpoint
    async def post(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        await read_body(request, wire.PostStory)
        posted = await self._stories.post(caller.account)
        story = posted.story
        body = wire.PostedStory(
            story=story.id,
            author=story.author,
            created_at=story.created_at,
            expires_at=story.expires_at,
            audience_size=story.audience_size,
            audience=[wire.AudienceMember(account_id=a.id, app=a.app) for a in posted.audience],
        )
        return json_response(body, status=201)

    @endpoint
    async def list(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        found = await self._stories.visible(caller.account)
        return json_response(
            wire.Stories(stories=[story_json(s, mine=s.author == caller.account) for s in found])
        )

    @endpoint
    async def delete(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        await self._stories.delete(caller.account, parse_story_id(request.path_params["story"]))
        return Response(status_code=204)

    @endpoint
    async def settings(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        return json_response(wire.CrossApp(cross_app=await self._stories.cross_app(caller.account)))

    @endpoint
    async def update_settings(self, request: Request) -> Response:
        caller = await request_caller(request, self._accounts)
        body = await read_body(request, wire.CrossAppChange)
        allowed = await self._stories.set_cross_app(caller.account, body.cross_app)
        return json_response(wire.CrossApp(cross_app=allowed))
