"""Remove background and Smart Select as jobs: the action rows, the request, the recipe, and a
missing model refused before anything is queued."""

from __future__ import annotations

import pytest

from bot.errors import InvalidParameter, NotAvailable
from bot.governance.admission import Admission, Place
from bot.jobs.actions import Surface, cli_actions, layout, resolve
from bot.jobs.editor_jobs import parse_select, select_mode
from bot.jobs.files import parse_a1111_parameters, read_png_parameters
from bot.jobs.models import JobKind
from tests.jobs.conftest import ServiceFactory, imagine, make_settings, outcome

ALICE = 1


async def finished_grid(service):
    job = await service.submit(imagine(ALICE, "a red fox"))
    await outcome(service, job.id)
    return await service.get_job(job.id)


def test_the_action_table_has_a_remove_background_button_and_a_smart_select_tool():
    """Remove Background is under every single image (Discord, web); Smart Select is the editor's
    and the CLI's, never a message button."""
    single = [action.name for row in layout(Surface.SINGLE) for action, _ in row]
    assert "remove_background" in single and "smart_select" not in single
    assert resolve("rembg", front="discord").kind is JobKind.BACKGROUND
    assert resolve("smart_select", front="web").kind is JobKind.SELECT
    assert {"remove-background", "smart-select"} <= set(cli_actions())
    assert all(len(row) <= 5 for row in layout(Surface.SINGLE))


async def test_remove_background_runs_on_the_chosen_image_and_says_so_in_the_recipe(service, fake_engine):
    """One picture at the image's size and seed, Operation.REMOVE_BACKGROUND, `Background: removed`."""
    grid = await finished_grid(service)
    admission = Admission(service, service.settings)
    (job,) = await admission.act(grid, resolve("remove_background"), 2, Place(ALICE))
    await outcome(service, job.id)
    call = fake_engine.calls[-1]
    assert call.operation == "remove_background"
    parent_image = await service.repository.get_image(grid.id, 1)
    assert call.request.seed == parent_image.seed and call.request.batch_size == 1
    image = await service.repository.get_image(job.id, 0)
    fields = parse_a1111_parameters(read_png_parameters(image.path))
    assert fields["Background"] == "removed" and "Denoising strength" not in fields


async def test_smart_select_carries_the_click_to_the_engine(service, fake_engine):
    """`point X,Y` becomes `extra["select"]`; the recipe names it."""
    grid = await finished_grid(service)
    admission = Admission(service, service.settings)
    (job,) = await admission.act(
        grid, resolve("smart_select"), 1, Place(ALICE), mode=select_mode(point=(10, 20))
    )
    await outcome(service, job.id)
    assert fake_engine.calls[-1].operation == "smart_select"
    assert fake_engine.calls[-1].request.extra["select"] == {"point": [10, 20]}
    image = await service.repository.get_image(job.id, 0)
    assert parse_a1111_parameters(read_png_parameters(image.path))["Select"] == "point 10,20"


async def test_a_click_off_the_image_is_refused_before_queueing(service, fake_engine):
    """Invalid parameter, and the engine never sees it."""
    grid = await finished_grid(service)
    admission = Admission(service, service.settings)
    calls = len(fake_engine.calls)
    with pytest.raises(InvalidParameter, match="outside the image"):
        await admission.act(grid, resolve("smart_select"), 1, Place(ALICE), mode="point 500,1")
    assert len(fake_engine.calls) == calls and service.waiting_count == 0


@pytest.mark.parametrize(
    ("model", "message"), [("off", "not set up"), ("/nowhere/slimsam", "does not exist")]
)
async def test_a_missing_segmentation_model_is_refused_before_anything_is_queued(
    tmp_path, fake_engine, model, message
):
    """SEGMENT_MODEL off or a missing folder: `Not available`, no job waits, the engine is not called."""
    factory = ServiceFactory(make_settings(tmp_path / "data", SEGMENT_MODEL=model), fake_engine)
    try:
        service = await factory()
        grid = await finished_grid(service)
        admission = Admission(service, service.settings)
        calls = len(fake_engine.calls)
        for name, mode in (("remove_background", None), ("smart_select", "point 1,1")):
            with pytest.raises(NotAvailable, match=message):
                await admission.act(grid, resolve(name), 1, Place(ALICE), mode=mode)
        assert len(fake_engine.calls) == calls and service.waiting_count == 0
    finally:
        await factory.close_all()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("point 3,4", {"point": [3, 4]}),
        ("box 0,0,64,64", {"box": [0, 0, 64, 64]}),
        ("point 3.6,4", {"point": [4, 4]}),
    ],
)
def test_parse_select_reads_points_and_boxes(mode, expected):
    """A selection in the image's pixels."""
    assert parse_select(mode, (64, 64)) == expected


@pytest.mark.parametrize(
    "mode", [None, "", "point", "point 1", "box 1,2,3", "circle 1,2", "point a,b", "box 5,5,5,9"]
)
def test_parse_select_refuses_anything_else(mode):
    """Invalid parameter naming the forms it takes."""
    with pytest.raises(InvalidParameter):
        parse_select(mode, (64, 64))
