package io.ultralong.gateway.console;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.quarkus.qute.CheckedTemplate;
import io.quarkus.qute.TemplateInstance;
import io.ultralong.gateway.GatewayConfig;

/**
 * The operator console's pages. They are shells rendered on the server (layout, navigation, whether
 * a login is needed); the data comes from the {@code /v1} API, called by {@code console.js} with the
 * API key the login form keeps in session storage, so the console has exactly the API's permissions.
 */
@Path("/console")
@Produces(MediaType.TEXT_HTML)
public class ConsoleResource {

    @Inject
    GatewayConfig gateway;

    @Inject
    ConsoleConfig config;

    /** What every page needs to know. */
    public record Page(String title, String nav, boolean authEnabled, String modelId) {
    }

    @CheckedTemplate(basePath = "console")
    static class Templates {
        static native TemplateInstance sessions(Page page);

        static native TemplateInstance session(Page page, String sessionId);

        static native TemplateInstance workers(Page page);

        static native TemplateInstance reports(Page page);
    }

    @GET
    public Response sessions() {
        return render(Templates.sessions(page("Sessions", "sessions")));
    }

    @GET
    @Path("/sessions/{id}")
    public Response session(@PathParam("id") String id) {
        return render(Templates.session(page("Session " + id, "sessions"), id));
    }

    @GET
    @Path("/workers")
    public Response workers() {
        return render(Templates.workers(page("Workers", "workers")));
    }

    @GET
    @Path("/reports")
    public Response reports() {
        return render(Templates.reports(page("Evaluation reports", "reports")));
    }

    private Page page(String title, String nav) {
        return new Page(title, nav, gateway.auth().enabled(), gateway.modelId());
    }

    private Response render(TemplateInstance page) {
        if (!config.enabled()) {
            return Response.status(404).type(MediaType.TEXT_PLAIN).entity("The console is switched off (ul.console.enabled).").build();
        }
        return Response.ok(page.render()).build();
    }
}
