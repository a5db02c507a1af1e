// asymcdc-silo: one AsymCDC silo. Roles, clustering and ports come from AsymCdc:Silo (appsettings or AsymCdc__Silo__*).
using AsymCdc.Grains;
using System.Net;
using AsymCdc.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);

SiloOptions silo;
try
{
    // Validated before anything starts: clustering and ports depend on it.
    silo = builder.AddAsymCdcSilo();
    builder.AddAsymCdcEndpoints(gateway: silo.HasRole(SiloRoles.Frontend));
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"asymcdc-silo: invalid configuration: {string.Join("; ", e.Failures)}");
    return 2;
}

// The endpoints are Kestrel's own, below; the .NET images' ASPNETCORE_HTTP_PORTS=8080 would only be overridden, with a warning.
builder.WebHost.UseSetting(WebHostDefaults.HttpPortsKey, "");
builder.WebHost.ConfigureKestrel(kestrel =>
{
    // HTTP/1.1: KServe v2 REST, health, /metrics.
    kestrel.Listen(IPAddress.Any, silo.HttpPort);
    if (silo.HasRole(SiloRoles.Frontend) && silo.GrpcPort != 0)
    {
        // KServe v2 gRPC: HTTP/2 cleartext with prior knowledge, which cannot share a port with HTTP/1.1.
        kestrel.Listen(IPAddress.Any, silo.GrpcPort, listen => listen.Protocols = HttpProtocols.Http2);
    }
});
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = silo.DrainTimeout + TimeSpan.FromSeconds(10));
builder.Services.AddAsymCdcHealthChecks();
if (silo.HasRole(SiloRoles.Frontend))
{
    builder.Services.AddAsymCdcGatewayReadiness((services, _) =>
        ValueTask.FromResult(services.GetRequiredService<SiloReadiness>() is { ModelsWarm: true, Joined: true }));
}

try
{
    // Mapping the gateway resolves its model catalogue, which opens the model repository: inside, so that a bad
    // model is reported like any other start-up failure.
    var app = builder.Build();
    app.MapAsymCdcEndpoints(gateway: silo.HasRole(SiloRoles.Frontend));
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is OptionsValidationException or InvalidOperationException or AsymCdc.Inference.ModelRepositoryException)
{
    // One clear line (the options validators and the Redis check name the key and value), and a failing exit code.
    Console.Error.WriteLine($"asymcdc-silo: start-up failed: {(e is OptionsValidationException o ? string.Join("; ", o.Failures) : e.Message)}");
    return 1;
}
