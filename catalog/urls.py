from catalog.views import accounts, groups, lineage, search

app_name = "catalog"

urlpatterns = [*accounts.urlpatterns, *search.urlpatterns, *groups.urlpatterns, *lineage.urlpatterns]
