"""The home page's certificate: once the trainer has issued hers, a download link and its verification code."""

from __future__ import annotations

import base64
import contextlib
import html
import sys
import traceback

import ipywidgets as w

from ipt_course.i18n_ui import _
from ipt_course.ui.context import PageContext
from ipt_course.ui.views import html_box

MAX_PDF_BYTES = 8 * 1024 * 1024
"""A certificate is one page (some 100 kB with its fonts); anything far bigger is not one and is not sent."""


def certificate_link(ctx: PageContext) -> str:
    """The certificate card's HTML for the signed-in trainee, or "" when none was issued to her.

    Only her own: the trainee id is the viewer's, never anything the page was asked for. The PDF travels inside
    the page as a data URL, so no server route exists that could be asked for someone else's.
    """
    from ipt_course.grading.certificate import CertificateError, certificate_pdf, issued_for

    if ctx.trainee is None:
        return ""
    trainee_id = ctx.trainee.id
    course_id = ctx.course.course.id
    try:
        entry = issued_for(ctx.project, trainee_id, course_id)  # cheap: the register only
        path = certificate_pdf(ctx.project, trainee_id, course_id) if entry is not None else None
        data = path.read_bytes() if path is not None and path.stat().st_size <= MAX_PDF_BYTES else None
    except (CertificateError, OSError, RuntimeError):  # no certificate shown rather than a broken home page
        with contextlib.suppress(Exception):
            traceback.print_exc(file=sys.__stderr__)
        return ""
    if entry is None or data is None:
        return ""
    href = "data:application/pdf;base64," + base64.b64encode(data).decode("ascii")
    code = html.escape(entry.code)
    return (
        "<div class='ipt-card ipt-certificate'>"
        f"<h2>{html.escape(_('Your certificate'))}</h2>"
        f"<p>{html.escape(_('Well done: you have completed the course.'))}</p>"
        f"<a class='ipt-link-button' download='certificate-{html.escape(trainee_id)}.pdf' href='{href}'>"
        f"{html.escape(_('Download your certificate'))}</a>"
        f"<p>{html.escape(_('Verification code:'))} <b class='ipt-code'>{code}</b></p>"
        f"<p class='ipt-muted'>{html.escape(_('Anyone can check this code with your trainer or supervisor.'))}</p>"
        "</div>"
    )


def certificate_box(ctx: PageContext) -> list[w.Widget]:
    """The certificate card as a widget list: one card, or nothing when she has none yet."""
    found = certificate_link(ctx)
    return [html_box(found)] if found else []
