"""The project's ASGI application with the static files served (what
`runserver` does in development), for tests that run a real ASGI server."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from config.asgi import application as project

application = type(project)(
    {
        "http": ASGIStaticFilesHandler(project.application_mapping["http"]),
        **{key: value for key, value in project.application_mapping.items() if key != "http"},
    }
)
