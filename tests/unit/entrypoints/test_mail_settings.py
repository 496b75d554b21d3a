"""[mail] and [web] settings: SMTP from the file or the environment (the password only from
the environment), each mistake refused with the setting's name, and the mailer and the
alert notifier the composition root builds from them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adapters.mail import SmtpMailer
from application.alerting.dispatcher import AlertDispatcher
from application.alerting.routes import ChannelRoute, RecipientsRoute
from domain.errors import ConfigurationError
from entrypoints.container import build_container
from entrypoints.mail_setup import EmailFeatures, EmailNotConfigured
from entrypoints.settings import load_settings

SMTP = {"QUANTSHIFT_SMTP_HOST": "smtp.example.com", "QUANTSHIFT_SMTP_FROM": "QuantShift <alerts@example.com>"}


def test_no_smtp_means_no_mailer_alerts_without_e_mail_and_a_clear_refusal(tmp_path):
    settings = load_settings(config_file=None, environ={"QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}"})
    container = build_container(settings)
    assert container.mailer() is None and isinstance(container.notifier(), AlertDispatcher)
    assert [type(r) for r in container.notifier().routes] == [ChannelRoute]  # no e-mail route
    with pytest.raises(EmailNotConfigured, match="SMTP is not configured: set QUANTSHIFT_SMTP_HOST"):
        container.email().require_mailer()


def test_smtp_from_the_environment_builds_the_mailer_and_the_e_mail_route(tmp_path):
    environ = {**SMTP, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}", "QUANTSHIFT_SMTP_PORT": "2525",
               "QUANTSHIFT_SMTP_USERNAME": "alerts", "QUANTSHIFT_SMTP_PASSWORD": "s3cret-pass",
               "QUANTSHIFT_SMTP_SECURITY": "tls", "QUANTSHIFT_SMTP_TIMEOUT": "3.5",
               "QUANTSHIFT_PUBLIC_URL": "https://qs.example.com"}
    settings = load_settings(config_file=None, environ=environ)
    mail = settings.mail
    assert (mail.host, mail.effective_port, mail.username, mail.security, mail.timeout_seconds) == (
        "smtp.example.com", 2525, "alerts", "tls", 3.5)
    assert "s3cret-pass" not in repr(settings)
    container = build_container(settings)
    assert isinstance(container.mailer(), SmtpMailer)
    assert [type(r) for r in container.notifier().routes] == [ChannelRoute, RecipientsRoute]
    assert "s3cret-pass" not in repr(container.mailer())
    assert container.email().invitation_base_url() == "https://qs.example.com"


def test_the_file_sets_mail_and_web_and_the_environment_wins(tmp_path):
    config = tmp_path / "qs.toml"
    config.write_text('[mail]\nhost = "mail.internal"\nsender = "ops@example.com"\nsecurity = "none"\n'
                      '[web]\npublic_url = "http://qs.internal:8000"\ninvitation_path = "/join"\n'
                      'invitation_lifetime = "12h"\n')
    settings = load_settings(config_file=config, require_bots=False, environ={"QUANTSHIFT_SMTP_HOST": "127.0.0.1"})
    assert (settings.mail.host, settings.mail.effective_port) == ("127.0.0.1", 25)
    assert settings.web.invitation_path == "/join" and settings.web.invitation_period == timedelta(hours=12)


@pytest.mark.parametrize(("environ", "named"), [
    ({"QUANTSHIFT_SMTP_HOST": "smtp.example.com"}, "sender (QUANTSHIFT_SMTP_FROM)"),
    ({**SMTP, "QUANTSHIFT_SMTP_PASSWORD": "pw"}, "username (QUANTSHIFT_SMTP_USERNAME) and QUANTSHIFT_SMTP_PASSWORD"),
    ({**SMTP, "QUANTSHIFT_SMTP_USERNAME": "u", "QUANTSHIFT_SMTP_PASSWORD": "pw", "QUANTSHIFT_SMTP_SECURITY": "none"},
     "security (QUANTSHIFT_SMTP_SECURITY)"),
    ({**SMTP, "QUANTSHIFT_SMTP_SECURITY": "ssl"}, "mail.security"),
    ({**SMTP, "QUANTSHIFT_SMTP_PORT": "smtp"}, "QUANTSHIFT_SMTP_PORT"),
    ({**SMTP, "QUANTSHIFT_SMTP_PORT": "70000"}, "port"),
    ({**SMTP, "QUANTSHIFT_SMTP_TIMEOUT": "0"}, "timeout_seconds"),
    ({**SMTP, "QUANTSHIFT_SMTP_HOST": "smtp://smtp.example.com"}, "host (QUANTSHIFT_SMTP_HOST)"),
    ({"QUANTSHIFT_SMTP_PASSWORD": "pw"}, "host (QUANTSHIFT_SMTP_HOST)"),
    ({"QUANTSHIFT_PUBLIC_URL": "qs.example.com"}, "public_url (QUANTSHIFT_PUBLIC_URL)"),
    ({"QUANTSHIFT_PUBLIC_URL": "https://qs.example.com/?a=1"}, "public_url (QUANTSHIFT_PUBLIC_URL)"),
])
def test_each_mistake_names_the_setting_and_never_the_password(environ, named):
    with pytest.raises(ConfigurationError) as refused:
        load_settings(config_file=None, environ=environ)
    assert named in str(refused.value)
    assert "pw" not in str(refused.value).replace("pwd", "")


def test_a_password_in_the_file_is_refused(tmp_path):
    config = tmp_path / "qs.toml"
    config.write_text('[mail]\nhost = "smtp.example.com"\nsender = "a@example.com"\npassword = "in-a-file"\n')
    with pytest.raises(ConfigurationError, match="mail.password: secrets come from the environment only") as refused:
        load_settings(config_file=config, require_bots=False, environ={})
    assert "in-a-file" not in str(refused.value)


def test_invitation_links_need_the_public_url():
    with pytest.raises(EmailNotConfigured, match="QUANTSHIFT_PUBLIC_URL is not set"):
        EmailFeatures(mailer=SmtpMailer(host="127.0.0.1", port=25, sender="a@example.com")).invitation_base_url()
    with pytest.raises(EmailNotConfigured, match="SMTP is not configured"):
        EmailFeatures(mailer=None).invitation_base_url()


def test_bad_web_paths_and_lifetimes_are_refused(tmp_path):
    for text, named in (('invitation_path = "join"', "invitation_path"),
                        ('invitation_lifetime = "forever"', "invitation_lifetime")):
        config = Path(tmp_path / "qs.toml")
        config.write_text(f"[web]\n{text}\n")
        with pytest.raises(ConfigurationError, match=named):
            load_settings(config_file=config, require_bots=False, environ={})
