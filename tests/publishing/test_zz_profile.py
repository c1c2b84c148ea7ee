import cProfile, pstats, os, time
import pytest
from sqlalchemy import select
from gateway.extensions import db
from gateway.models import Delivery
from gateway.publishing import attempt
from tests.publishing.conftest import approved_post

pytestmark = pytest.mark.skipif(not os.environ.get("PROFILE_PUBLISH"), reason="profile only")

def test_profile(app, clock, fake, channels, officers, gateway_server):
    from gateway.posts.service import NewImage
    from tests.platforms.accounts import JPEG
    img = NewImage("d.jpg", "image/jpeg", JPEG, "A refuse lorry")
    ids = []
    for i in range(60):
        pid = approved_post(app, officers, [channels["x"], channels["facebook"], channels["instagram"]], text=f"Bin collections on Monday {i} go ahead.", images=[img])
        ids.append(pid)
    with app.app_context():
        dids = db.session.scalars(select(Delivery.id).where(Delivery.post_id.in_(ids))).all()
    time.sleep(1.5)
    with app.app_context():
        attempt.publish(dids[0]); db.session.remove()
    prof = cProfile.Profile()
    t = time.perf_counter(); c = time.process_time()
    for d in dids[1:]:
        with app.app_context():
            prof.enable()
            attempt.publish(d)
            prof.disable()
            db.session.remove()
    n = len(dids) - 1
    print(f"\nper delivery wall {(time.perf_counter()-t)/n*1000:.1f} ms cpu {(time.process_time()-c)/n*1000:.1f} ms")
    st = pstats.Stats(prof); st.sort_stats("cumulative").print_stats(45)
    st.sort_stats("tottime").print_stats(25)
