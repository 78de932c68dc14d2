"""The desk's /cards over real HTTP (web.serving) on a seeded demo office: roles, CSRF, the signing key, the
fields' messages in both languages, missing cards issued and audited."""

from __future__ import annotations

import re
import threading
from datetime import datetime

import pytest
import requests

from kiosk import demo
from kiosk.config.office import OfficeConfig
from kiosk.office import audit
from kiosk.office.accounts import Accounts
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from web.office import create_app
from web.serving import WebServer

pytestmark = pytest.mark.timeout(120)
NOW = datetime.now(demo.ZoneInfo(demo.TIMEZONE))


class CardsDesk:
    """The seeded demo office's desk on 127.0.0.1, with ``keys_dir`` as given (the demo's by default)."""

    def __init__(self, tmp_path, keys_dir=None):
        self.community = demo.seed(tmp_path / "demo", NOW)
        settings = demo.office_settings(self.community)
        if keys_dir is not None:
            settings["office"]["keys_dir"] = str(keys_dir)
        self.store = OfficeStore(self.community.office_dir / "office.db")
        Accounts(self.store).add_user("sub", "viewer", "viewer password 1")
        self.master = RegistryMaster(self.community.office_dir / "registry.db")
        self.app = create_app(self.store, self.master, config=OfficeConfig.model_validate(settings))
        self.server = WebServer(self.app, "127.0.0.1", 0)
        threading.Thread(target=self.server.run, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.port}"

    def signed_in(self, name: str = demo.DESK_USER, password: str = demo.DESK_PASSWORD, lang: str = "zh-CN"):
        browser = requests.Session()
        browser.trust_env = False
        browser.cookies.set("lang", lang)
        form = browser.get(self.url + "/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        answer = browser.post(self.url + "/signin", data={"name": name, "password": password, "csrf_token": token},
                              allow_redirects=False)
        assert answer.status_code == 303, answer.text
        return browser, browser.get(self.url + "/desk/api/me").json()["csrf_token"]

    def close(self) -> None:
        self.server.close()
        self.master.close()
        self.store.close()


@pytest.fixture
def desk(tmp_path):
    desk = CardsDesk(tmp_path)
    yield desk
    desk.close()


def _message(page: str) -> str:
    found = re.search(r'id="cards-message">([^<]*)<', page)
    return found.group(1) if found else ""


def test_fields_say_what_is_wrong_in_chinese_and_english(desk):
    browser, _ = desk.signed_in()
    cases = [({"by": "household", "household": ""}, "户：请填写"),
             ({"by": "household", "household": "x" * 80}, "户：最多 60 个字"),
             ({"by": "household", "household": "9-9-9"}, "户：登记册中没有 9-9-9 这一户，请写成 楼栋-单元-房间，如 5-1-101"),
             ({"by": "compound", "compound": "东区"}, "小区：登记册中没有小区“东区”"),
             ({"by": "missing", "days": "-3"}, "到期天数：请填写 0 到 366 之间的整数"),
             ({"by": "nonsense"}, "请选择为谁打印出入证")]
    for query, message in cases:
        page = browser.get(desk.url + "/cards", params=query)
        assert page.status_code == 400 and _message(page.text) == message, (query, page.text[-2000:])
    english, _ = desk.signed_in(lang="en")
    page = english.get(desk.url + "/cards", params={"by": "building", "building": "9"})
    assert page.status_code == 400 and _message(page.text) == "Building: no building 9 in the registry"
    form = english.get(desk.url + "/cards")
    assert "Print cards" in form.text and "Reissue a lost card" in form.text


def test_missing_cards_are_issued_printed_and_audited(desk):
    desk.master.upsert("residents", {"id": 70, "household_id": 5, "name": "新住户", "phone_masked": ""})
    browser, csrf = desk.signed_in()
    page = browser.get(desk.url + "/cards", params={"by": "missing", "days": "0"})
    assert page.status_code == 200 and re.search(r'data-cards="1"\s+data-issue="1"', page.text) and "新住户" in page.text
    version = desk.master.version
    pdf = browser.post(desk.url + "/cards/print", data={"csrf_token": csrf, "by": "missing", "days": "0",
                                                          "expected": "1"})
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf.text[:500]
    assert pdf.content.startswith(b"%PDF-") and "attachment" in pdf.headers["Content-Disposition"]
    assert pdf.headers["Cache-Control"] == "no-store"
    [card] = desk.master.cards_of("resident", 70)
    assert desk.master.version == version + 1
    assert list((desk.community.office_dir / "cards").glob(f"*_card-{card['id']}.png"))  # as the CLI writes them
    [entry] = audit.search(desk.store, action="cards.print").entries
    assert entry["actor"] == demo.DESK_USER and entry["target"] == "missing:0"
    assert browser.get(desk.url + "/cards", params={"by": "missing"}).text.count('id="cards-nothing"') == 1


def test_a_viewer_and_a_forged_post_print_nothing(desk):
    viewer, csrf = desk.signed_in("sub", "viewer password 1")
    assert viewer.get(desk.url + "/cards").status_code == 403
    assert "打印出入证" not in viewer.get(desk.url + "/").text  # not in a viewer's top bar
    refused = viewer.post(desk.url + "/cards/reissue", data={"csrf_token": csrf, "resident": "1", "expected": "1"})
    assert refused.status_code == 403
    staff, _ = desk.signed_in()
    forged = staff.post(desk.url + "/cards/reissue", data={"resident": "1", "expected": "1"})  # no CSRF token
    assert forged.status_code == 403
    assert not desk.master.is_revoked(1001) and audit.search(desk.store, action="cards.reissue").entries == []


def test_without_the_signing_key_nothing_is_issued_and_the_page_says_why(tmp_path):
    desk = CardsDesk(tmp_path, keys_dir=tmp_path / "no-keys")
    try:
        browser, csrf = desk.signed_in()
        version = desk.master.version
        page = browser.post(desk.url + "/cards/reissue", data={"csrf_token": csrf, "resident": "1-1-101:王小山",
                                                                "expected": "1"})
        assert page.status_code == 400
        assert _message(page.text).startswith(f"签名密钥不在 {tmp_path / 'no-keys'}（office.keys_dir）")
        assert desk.master.version == version and not desk.master.is_revoked(1001)
    finally:
        desk.close()
