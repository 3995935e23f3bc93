"""What particular modules teach beyond the course standard (which test_every_module checks for all of them)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from ipt_course.content.loader import LoadedCourse
from ipt_course.grading.change import standard_cases
from tests.content.test_every_module import PRESSING_FOR_DETAILS, course, module, play

TRAUMA = "02-trauma-informed-care"
SAFETY = "03-safety-and-referral"
ASSESSMENT = "04-pre-group-assessment"
ENDING = "08-ending-and-supervision"
MIDDLE_AND_END = ("06-grief-and-life-changes", "07-disputes-and-loneliness", ENDING)

# Ids the course's competency framework must define (others may be added later), with their safety flag.
REQUIRED_COMPETENCIES = {
    "nonverbal-active-listening": False,
    "verbal-communication": False,
    "confidentiality": True,
    "rapport-and-self-disclosure": False,
    "exploring-feelings": False,
    "empathy-warmth-genuineness": False,
    "assessment-of-harm": True,
    "connection-to-social-functioning": False,
    "explanatory-models": False,
    "family-involvement": False,
    "collaborative-goal-setting": False,
    "realistic-hope": False,
    "coping-mechanisms": False,
    "psychoeducation-local-terms": False,
    "eliciting-feedback": False,
    "group-ground-rules": False,
    "balanced-participation": False,
    "group-confidentiality": False,
    "explaining-depression-sick-role": False,
    "interpersonal-inventory": False,
    "choosing-problem-area": False,
    "linking-mood-to-events": False,
    "communication-analysis": False,
    "role-play": False,
    "decision-analysis": False,
    "ending-and-relapse-planning": False,
    "measuring-progress-phq-a": False,
    "supervision-and-referral": True,
}

SAFETY_COMPETENCIES = {"assessment-of-harm", "confidentiality", "supervision-and-referral", "trauma-informed-practice"}


# ---------------------------------------------------------------- the competency framework (from module 1)


def test_required_competencies_exist_with_safety_flags() -> None:
    """Does the framework define every required competency, with the right safety-critical flag?"""
    framework = course().framework
    for competency_id, safety_critical in REQUIRED_COMPETENCIES.items():
        assert framework.get(competency_id).safety_critical is safety_critical, competency_id


# ---------------------------------------------------------------- trauma-informed scenarios (2, 3, 6-8)


@pytest.mark.parametrize("folder", [TRAUMA, SAFETY, *MIDDLE_AND_END])
def test_scenario_offers_a_pressing_distractor(folder: str) -> None:
    """Does the module's scenario offer a choice that presses for trauma details, so that the course-wide
    check that such a choice is level 1 has something to catch here?"""
    pressing = [
        choice.id
        for scenario in module(folder).scenarios
        for node in scenario.nodes
        for choice in node.choices
        if PRESSING_FOR_DETAILS.search(choice.text)
    ]
    assert pressing, "the pattern no longer finds the pressing distractor; update it with the scenario"


# ---------------------------------------------------------------- module 3: the must-pass safety gate


def test_safety_module_is_must_pass() -> None:
    """Is module 3 must-pass with a pass mark of 0.8, and module 2 not?"""
    assert module(SAFETY).meta.must_pass is True
    assert module(SAFETY).meta.pass_mark == pytest.approx(0.8)
    assert module(TRAUMA).meta.must_pass is False


def test_safety_items_have_harmful_distractors() -> None:
    """Does every module 3 item on a safety-critical competency mark at least one harmful option?"""
    critical = {c.id for c in course().framework.competencies if c.safety_critical}
    missing = [i.id for i in module(SAFETY).items if i.competency in critical and not i.harmful]
    assert not missing


def test_safety_module_covers_each_safety_competency() -> None:
    """Do module 3's items cover the four safety-critical competencies, more than half with harmful distractors?"""
    items = module(SAFETY).items
    assert {i.competency for i in items} >= SAFETY_COMPETENCIES
    assert sum(1 for i in items if i.harmful) > len(items) / 2


def test_question_nine_items_count_towards_the_safety_gate() -> None:
    """Is every module 3 and 4 item on a question 9 answer above 0 on a safety-critical competency, so the gate
    and the flags count it?"""
    critical = {c.id for c in course().framework.competencies if c.safety_critical}
    above_zero = re.compile(r"question 9,? (she )?(marked|is only|=) ?[1-3]\b|\b[1-3] on question 9", re.IGNORECASE)
    about_nine = [
        item
        for folder in (SAFETY, ASSESSMENT)
        for item in module(folder).items
        if above_zero.search(" ".join((item.prompt + " " + " ".join(o.text for o in item.options)).split()))
    ]
    assert about_nine
    assert not [item.id for item in about_nine if item.competency not in critical]


def test_safety_module_says_it_is_must_pass_and_what_passing_needs() -> None:
    """Does module 3's summary say it is must-pass and name the four conditions of the gate?"""
    summary = " ".join(module(SAFETY).meta.summary.split()).lower()
    for phrase in ("must-pass", "harmful", "80%", "safety step", "level 3"):
        assert phrase in summary, phrase


def test_safety_module_gives_real_urgent_numbers() -> None:
    """Do module 3's lessons give India's emergency, Tele-MANAS and child helpline numbers, and hospital first?"""
    text = " ".join(lt.markdown for lt in module(SAFETY).lessons)
    for number in ("112", "14416", "1-800-891-4416", "1098"):
        assert re.search(rf"(?<![\d-]){re.escape(number)}(?![\d-])", text), number
    assert re.search(r"hospital care comes first", text, re.IGNORECASE)
    assert re.search(r"medico-legal", text, re.IGNORECASE)


def test_safety_module_keeps_pocso_to_sexual_offences() -> None:
    """Does module 3 say POCSO covers sexual offences and send other harm through the JJ Act and child protection?"""
    text = " ".join(" ".join(lt.markdown.split()) for lt in module(SAFETY).lessons)
    assert re.search(r"POCSO covers sexual offences only", text)
    assert re.search(r"Juvenile Justice Act", text) and re.search(r"child-protection policy", text)
    assert re.search(r"21\(2\).{0,200}under her control", text)


def test_safety_scenario_has_four_critical_nodes() -> None:
    """Does each of module 3's scenarios hold at least four safety-critical moments?"""
    for scenario in module(SAFETY).scenarios:
        assert len([n for n in scenario.nodes if n.safety_critical]) >= 4, scenario.id


# ---------------------------------------------------------------- module 4: the pre-group assessment


def test_module_4_marks_ignoring_item_9_as_harmful() -> None:
    """Has module 4 an item on PHQ-A question 9 whose harmful options include letting it go?"""
    found = []
    for item in module(ASSESSMENT).items:
        if not re.search(r"question 9|item 9", item.prompt + item.rationale, re.IGNORECASE):
            continue
        harmful_texts = [o.text.lower() for o in item.options if o.id in item.harmful]
        if any(re.search(r"let her go|can wait|does not need|skip|leave out", t) for t in harmful_texts):
            found.append(item.id)
    assert found


GROUP_CANNOT_TREAT = ("psychosis", "mania", "alcohol", "epilepsy", "pregnant", "intellectual disability")


def test_module_4_teaches_what_the_group_cannot_treat() -> None:
    """Does module 4 name what group IPT cannot treat, with a knowledge check and an item on referring it?"""
    m = module(ASSESSMENT)
    text = " ".join(lt.markdown for lt in m.lessons).lower()
    assert not [sign for sign in GROUP_CANNOT_TREAT if sign not in text]
    assert any(check.id == "who-needs-more-than-the-group" for check in m.knowledge_checks)
    item = next(i for i in m.items if i.id == "what-the-group-cannot-treat")
    assert item.competency == "supervision-and-referral" and "no-referral" in item.harmful.values()


def test_module_4_never_uses_another_girl_as_interpreter() -> None:
    """Does module 4 teach the PHQ-A's extra suicide questions, and that another girl is never the interpreter?"""
    text = " ".join(" ".join(lt.markdown.split()) for lt in module(ASSESSMENT).lessons)
    assert re.search(r"never another girl", text, re.IGNORECASE)
    assert re.search(r"in the past month", text) and re.search(r"suicide attempt ever", text)


def test_module_4_case_does_not_say_one_meeting_moves_the_score() -> None:
    """Is module 4's case a responder whose text never says one meeting or remark shows as a lower score?"""
    scenario = module(ASSESSMENT).scenarios[0]
    assert scenario.client.response == "responder"
    texts = [n.text for n in scenario.nodes] + [n.narration or "" for n in scenario.nodes]
    texts += [n.ending.text for n in scenario.nodes if n.ending]
    claims = re.compile(r"shows? as a (lower|higher) score|score (will|would) (fall|drop|go down)", re.IGNORECASE)
    assert not [t for t in texts if claims.search(" ".join(t.split()))]


def test_module_4_scenario_follows_her_across_sessions() -> None:
    """Does module 4's scenario run from the pre-group meeting to the initial phase, with a PHQ-A model?"""
    scenario = module(ASSESSMENT).scenarios[0]
    assert [s.phase for s in scenario.sessions][:2] == ["pre-group", "initial"]
    assert scenario.client.phq_a is not None
    if scenario.client.phq_a[8] > 0:
        assert any("suicidal-thoughts" in node.risk and node.safety_critical for node in scenario.nodes)


# ---------------------------------------------------------------- modules 6-8: middle phase and ending


@pytest.mark.parametrize("folder", MIDDLE_AND_END)
def test_scenarios_follow_a_client_across_sessions(folder: str) -> None:
    """Does each scenario follow one girl across 3+ sessions with a PHQ-A symptom model (so the course-wide
    best-path test must find a rating for every one of them)? The end check (parallel to the baseline,
    grading/change.py) is the one short, single-meeting case."""
    standard = {i for case in standard_cases(course()) for i in (case.scenario_id, case.end_case)}
    for scenario in module(folder).scenarios:
        if scenario.id in standard:
            continue
        assert len(scenario.sessions) >= 3, scenario.id
        assert scenario.has_symptoms, scenario.id


def test_the_last_session_raises_item_9_in_module_8() -> None:
    """In module 8, does the termination session hold a safety-critical item-9 moment that the best path scores?"""
    scenario = module(ENDING).scenarios[0]
    last = scenario.sessions[-1]
    assert last.phase == "termination"
    assert "suicidal-thoughts" in scenario.node(last.start).risk
    sim = play(scenario, 0, best=True)
    assert sim.phq_a_history[-1].self_harm_item >= 1


# ---------------------------------------------------------------- the clinical review (issue 7)


def unlisted_harms(loaded: LoadedCourse) -> list[str]:
    """'competency: harm' for each kind of harm an item or case choice uses that its competency does not list."""
    used: dict[str, set[str]] = {}
    for m in loaded.modules:
        for item in m.items:
            used.setdefault(item.competency, set()).update(h for h in item.harmful.values() if h)
        for scenario in m.scenarios:
            for node in scenario.nodes:
                for choice in node.choices:
                    if choice.harm:
                        used.setdefault(choice.competency, set()).add(choice.harm)
    return sorted(
        f"{cid}: {harm}" for cid, harms in used.items() for harm in harms if harm not in loaded.framework.get(cid).harms
    )


def test_every_competency_lists_the_harms_its_items_and_cases_use() -> None:
    """Does each competency's `harms:` list name every kind of harm its items and case choices are marked with?"""
    assert unlisted_harms(course()) == []


def test_an_unlisted_harm_is_found() -> None:
    """With 'secrecy' taken off the confidentiality list, is the gap reported?"""
    loaded = course()
    competencies = [
        c.model_copy(update={"harms": [h for h in c.harms if h != "secrecy"]}) if c.id == "confidentiality" else c
        for c in loaded.framework.competencies
    ]
    framework = loaded.framework.model_copy(update={"competencies": competencies})
    assert "confidentiality: secrecy" in unlisted_harms(dataclasses.replace(loaded, framework=framework))


LEADING_QUESTION = re.compile(r"\b(you're|you are|you aren't) not thinking of|\byou aren't thinking of", re.IGNORECASE)


def test_a_leading_question_about_self_harm_is_level_2_unless_it_shames() -> None:
    """Is "You're not thinking of…, are you?" level 2 in every case and unmarked in every item, unless paired
    with shame?"""
    found = 0
    for m in course().modules:
        for item in m.items:
            for option in item.options:
                if LEADING_QUESTION.search(option.text) and "shame" not in option.text:
                    found += 1
                    assert option.id not in item.harmful, (item.id, option.id)
        for scenario in m.scenarios:
            for node in scenario.nodes:
                for choice in node.choices:
                    if LEADING_QUESTION.search(choice.text):
                        found += 1
                        assert choice.level == 2, (scenario.id, choice.id)
    assert found >= 4


def test_urgent_help_never_waits_for_the_supervisor() -> None:
    """Does no lesson or case tell the trainee to call 112 only if the supervisor cannot be reached, and does
    every lesson that gives the urgent-help line say Tele-MANAS is not an ambulance?"""
    texts = [(f"{m.slug}/{lt.lesson.id}", lt.markdown) for m in course().modules for lt in m.lessons]
    for m in course().modules:
        for scenario in m.scenarios:
            for node in scenario.nodes:
                texts.append((f"{scenario.id}/{node.id}", node.text + (node.ending.text if node.ending else "")))
    for where, text in texts:
        flat = " ".join(text.split())
        assert not re.search(r"(cannot|can't) reach (your supervisor|anyone)[^.]{0,40}\b112\b", flat), where
        if "taken something, call" in flat:
            assert "not an ambulance" in flat, where
