"""What a villager's request's pushes say (storage/requests.py decides who gets them): the cadre's push
(request_push.txt.j2, naming the channel of a request the office registered), the office's when the cadre's
WeChat cannot be reached (request_to_office) and the villager's when it went to the office after all
(request_rerouted_push). The chat passes ``WORDS`` to storage itself; the console, the CLI and delivery get the
same object from ``Lianxin.words`` (bot.app.build wires it), so none of them goes through a chat handler.
"""

from __future__ import annotations

from handlers.render import render
from handlers.roles import ROLES
from storage.models import Cadre, Household, VillagerRequest, WechatIdentity
from storage.offline import CHANNELS


class RequestNotices:
    """``storage.requests.RequestWords`` from the .txt.j2 templates."""

    def to_cadre(
        self, request: VillagerRequest, household: Household, answer_to: WechatIdentity | None
    ) -> str:
        return render(
            "request_push",
            request=request,
            household=household,
            role=ROLES.get(request.role or "", ""),
            channel=CHANNELS.get(request.channel),
            answer_to=answer_to,
        )

    def to_office(self, request: VillagerRequest, household: Household, cadre: Cadre, reason: str) -> str:
        return render("request_to_office", request=request, household=household, cadre=cadre, reason=reason)

    def rerouted(self, request: VillagerRequest, cadre: Cadre) -> str:
        return render("request_rerouted_push", request=request, cadre=cadre)


WORDS = RequestNotices()
