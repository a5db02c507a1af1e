using YamlDotNet.RepresentationModel;

namespace AsymCdc.Gateway.Tests;

/// <summary>docs/openapi/gateway.yaml is hand-written; these tests keep it and the mapped routes in step.</summary>
[Collection(GatewayClusterCollection.Name)]
public sealed class OpenApiDocumentTests(GatewayClusterFixture fixture)
{
    [Fact]
    public void The_document_describes_exactly_the_routes_the_gateway_maps()
    {
        var documented = DocumentedOperations();
        var mapped = fixture.Gateway.Routes
            .Select(r => (r.Method.ToLowerInvariant(), r.Pattern.TrimEnd('/')))
            .ToHashSet();

        Assert.Equal(mapped.Order(), documented.Order());
    }

    [Fact]
    public void The_documented_modes_and_served_by_names_are_the_clusters()
    {
        var schemas = (YamlMappingNode)Load()["components"]["schemas"];
        var modes = Enumeration(schemas["InferRequest"]["properties"]["parameters"]["properties"]["mode"]);
        var servedBy = Enumeration(schemas["InferResponse"]["properties"]["parameters"]["properties"]["served_by"]["items"]);

        Assert.Equal(Abstractions.ServingModes.All.Select(m => Abstractions.ServingModes.ToName(m)), modes);
        Assert.Equal(Enum.GetValues<Abstractions.ServedBy>().Select(s => Abstractions.ServingModes.ToName(s)), servedBy);
    }

    private static HashSet<(string Method, string Path)> DocumentedOperations()
    {
        var operations = new HashSet<(string, string)>();
        foreach (var (path, item) in (YamlMappingNode)Load()["paths"])
        {
            foreach (var (key, _) in (YamlMappingNode)item)
            {
                var method = ((YamlScalarNode)key).Value!;
                if (method is "get" or "post" or "put" or "delete" or "patch")
                {
                    operations.Add((method, ((YamlScalarNode)path).Value!));
                }
            }
        }

        return operations;
    }

    private static string[] Enumeration(YamlNode node) =>
        [.. ((YamlSequenceNode)node["enum"]).Children.Select(c => ((YamlScalarNode)c).Value!)];

    private static YamlNode Load()
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(FindDocument());
        stream.Load(reader);
        return stream.Documents[0].RootNode;
    }

    private static string FindDocument()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "openapi", "gateway.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"docs/openapi/gateway.yaml not found above {AppContext.BaseDirectory}");
    }
}
