from rest_framework.routers import SimpleRouter

from .api.views import TagViewSet

router = SimpleRouter(trailing_slash="")
router.register("tags", TagViewSet, basename="tag")

urlpatterns = router.urls
