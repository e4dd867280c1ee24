from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation: categories, entries, reviews"

    def ready(self):
        from django.conf import settings
        from django.db.models.signals import post_save, pre_save

        from annotation.receivers import remember_credentials, revoke_on_credentials_change

        # A changed password or a deactivation revokes the user's API tokens, however it was
        # made (admin, shell, password reset): annotation/receivers.py.
        pre_save.connect(
            remember_credentials,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="annotation.remember_credentials",
        )
        post_save.connect(
            revoke_on_credentials_change,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="annotation.revoke_on_credentials_change",
        )

        # Failed sign-ins (django-axes): a success forgets that username's failures from that
        # address only (annotation/throttle.py).
        from django.contrib.auth.signals import user_logged_in

        from annotation.throttle import forget_failures

        user_logged_in.connect(forget_failures, dispatch_uid="annotation.forget_failures")

        # Long `__in` lists become one array parameter on PostgreSQL (config/lookups.py): the
        # first app's ready() installs it for the whole project, before any query is built.
        from config.lookups import install as install_long_in_lists

        install_long_in_lists()
