using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// YAML to <see cref="JsonNode"/> with the YAML 1.2 core schema (what Kubernetes and Helm read):
/// plain scalars become numbers, booleans or null where they look like one; quoted ones stay strings.
/// </summary>
internal static partial class YamlDocuments
{
    public static IReadOnlyList<JsonObject> LoadAll(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var documents = new List<JsonObject>();
        foreach (var document in stream.Documents)
        {
            if (ToJson(document.RootNode) is JsonObject obj)
            {
                documents.Add(obj);
            }
        }

        return documents;
    }

    public static JsonObject LoadSingle(string yaml)
    {
        var all = LoadAll(yaml);
        Assert.True(all.Count == 1, $"expected one YAML document, found {all.Count}");
        return all[0];
    }

    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => ToObject(map),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => ToScalar(scalar),
        _ => throw new NotSupportedException($"YAML node {node.NodeType} at {node.Start} is not supported"),
    };

    private static JsonObject ToObject(YamlMappingNode map)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            obj[((YamlScalarNode)key).Value!] = ToJson(value);
        }

        return obj;
    }

    private static JsonNode? ToScalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? string.Empty;
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
        {
            return JsonValue.Create(text);
        }

        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(text.Equals("true", StringComparison.OrdinalIgnoreCase));
        }

        if (IntegerPattern().IsMatch(text))
        {
            var number = long.Parse(text, CultureInfo.InvariantCulture);
            return number is >= int.MinValue and <= int.MaxValue ? JsonValue.Create((int)number) : JsonValue.Create(number);
        }

        if (FloatPattern().IsMatch(text))
        {
            return JsonValue.Create(double.Parse(text, CultureInfo.InvariantCulture));
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}
