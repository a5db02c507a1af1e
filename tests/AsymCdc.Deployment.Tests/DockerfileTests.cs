using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// Lints the silo Dockerfiles without a Docker engine: instructions are parsed (continuation lines
/// joined) and checked for pinned bases, stages, the non-root user, health and the baked-in models.
/// </summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string> Dockerfiles => new() { "Dockerfile", "Dockerfile.gpu" };

    internal sealed record Instruction(string Keyword, string Arguments);

    internal static IReadOnlyList<Instruction> Parse(string text)
    {
        var instructions = new List<Instruction>();
        var current = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith('#'))
            {
                continue; // also a comment inside a continued instruction, as Docker reads it
            }

            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }

            current += line;
            if (!string.IsNullOrWhiteSpace(current))
            {
                var trimmed = current.Trim();
                var space = trimmed.IndexOfAny([' ', '\t']);
                instructions.Add(space < 0
                    ? new Instruction(trimmed.ToUpperInvariant(), "")
                    : new Instruction(trimmed[..space].ToUpperInvariant(), trimmed[(space + 1)..].Trim()));
            }

            current = "";
        }

        return instructions;
    }

    /// <summary>An image reference with an explicit tag other than latest, or a digest.</summary>
    internal static bool IsPinned(string image)
    {
        if (image.Contains('@', StringComparison.Ordinal))
        {
            return true;
        }

        var lastSlash = image.LastIndexOf('/');
        var colon = image.IndexOf(':', lastSlash + 1);
        if (colon < 0)
        {
            return false;
        }

        var tag = image[(colon + 1)..];
        return tag.Length > 0 && tag != "latest" && !tag.Contains('$', StringComparison.Ordinal);
    }

    /// <summary>The Dockerfile's instructions with each base image resolved to its build argument's default: the image a
    /// plain <c>docker build</c> uses.</summary>
    private static IReadOnlyList<Instruction> Load(string dockerfile) =>
        ResolveBaseImages(Parse(RepositoryLayout.ReadText("src", "AsymCdc.Silo", dockerfile)));

    /// <summary>The <c>ARG</c>s before the first <c>FROM</c> (the only ones a <c>FROM</c> can use) and their defaults.</summary>
    internal static IReadOnlyDictionary<string, string?> GlobalArguments(IReadOnlyList<Instruction> instructions) =>
        instructions.TakeWhile(i => i.Keyword != "FROM").Where(i => i.Keyword == "ARG")
            .Select(i => i.Arguments.Split('=', 2))
            .ToDictionary(a => a[0].Trim(), a => a.Length == 2 ? a[1].Trim() : null);

    internal static IReadOnlyList<Instruction> ResolveBaseImages(IReadOnlyList<Instruction> instructions)
    {
        var arguments = GlobalArguments(instructions);
        return [.. instructions.Select(i => i.Keyword != "FROM" ? i : i with
        {
            Arguments = BuildArgument().Replace(i.Arguments, m => arguments.TryGetValue(m.Groups[1].Value + m.Groups[2].Value, out var value) && value is not null
                ? value
                : m.Value),
        })];
    }

    private static IReadOnlyList<IReadOnlyList<Instruction>> Stages(IReadOnlyList<Instruction> instructions)
    {
        var stages = new List<IReadOnlyList<Instruction>>();
        List<Instruction>? stage = null;
        foreach (var instruction in instructions)
        {
            if (instruction.Keyword == "FROM")
            {
                stage = [];
                stages.Add(stage);
            }

            stage?.Add(instruction);
        }

        return stages;
    }

    private static string FromImage(Instruction from) =>
        from.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).First(a => !a.StartsWith("--", StringComparison.Ordinal));

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Base_images_are_pinned_and_the_build_is_multi_stage(string dockerfile)
    {
        var instructions = Load(dockerfile);
        var stageNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var froms = instructions.Where(i => i.Keyword == "FROM").ToList();
        Assert.True(froms.Count >= 2, $"{dockerfile}: expected a build stage and a runtime stage");
        foreach (var from in froms)
        {
            var image = FromImage(from);
            Assert.True(stageNames.Contains(image) || IsPinned(image), $"{dockerfile}: base image {image} is not pinned to a version tag");
            var alias = StageAlias().Match(from.Arguments);
            if (alias.Success)
            {
                stageNames.Add(alias.Groups[1].Value);
            }
        }

        var final = Stages(instructions)[^1];
        Assert.Contains(final, i => i.Keyword == "COPY" && i.Arguments.Contains("--from=build", StringComparison.Ordinal));
        Assert.DoesNotContain(final, i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.", FromImage(froms[0]));
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Base_images_are_build_arguments_whose_defaults_are_the_official_images(string dockerfile)
    {
        // So a machine that cannot pull them builds on stand-ins (deploy/images/stand-ins.sh) without editing the file,
        // while a plain `docker build` still gets the pinned official images.
        var instructions = Parse(RepositoryLayout.ReadText("src", "AsymCdc.Silo", dockerfile));
        var arguments = GlobalArguments(instructions);
        var stageNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var from in instructions.Where(i => i.Keyword == "FROM"))
        {
            var image = FromImage(from);
            if (!stageNames.Contains(image))
            {
                var reference = BuildArgument().Match(image);
                Assert.True(reference.Success && reference.Value == image, $"{dockerfile}: FROM {image} is not a build argument (ARG NAME=<official image>, FROM ${{NAME}})");
                var name = reference.Groups[1].Value + reference.Groups[2].Value;
                Assert.True(arguments.TryGetValue(name, out var official) && official is not null, $"{dockerfile}: {image} has no ARG {name}=<default> before the first FROM");
                Assert.True(IsPinned(official!), $"{dockerfile}: the default of {name}, {official}, is not pinned");
                Assert.Matches(@"^(mcr\.microsoft\.com/dotnet/(sdk|aspnet):|nvidia/cuda:)", official!);
            }

            if (StageAlias().Match(from.Arguments) is { Success: true } alias)
            {
                stageNames.Add(alias.Groups[1].Value);
            }
        }

        // The stand-in script passes exactly these arguments.
        var passed = StandInArgument().Matches(RepositoryLayout.ReadText("deploy", "images", "stand-ins.sh")).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Subset(passed, arguments.Keys.ToHashSet());
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Runtime_stage_runs_as_a_non_root_user(string dockerfile)
    {
        var final = Stages(Load(dockerfile))[^1];
        var user = final.LastOrDefault(i => i.Keyword == "USER")
            ?? throw new Xunit.Sdk.XunitException($"{dockerfile}: the runtime stage has no USER; it would run as root");
        var name = user.Arguments.Split(':')[0];
        Assert.True(name is not ("root" or "0") && name.Length > 0, $"{dockerfile}: USER {user.Arguments} is root");
        // Numeric, so Kubernetes' runAsNonRoot can verify it without resolving /etc/passwd.
        Assert.Matches("^[1-9][0-9]*$", name);
        var order = final.Select(i => i.Keyword).ToList();
        Assert.True(order.LastIndexOf("USER") < order.LastIndexOf("ENTRYPOINT"), $"{dockerfile}: USER must come before ENTRYPOINT");
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Health_is_checked_on_the_live_endpoint(string dockerfile)
    {
        var final = Stages(Load(dockerfile))[^1];
        var health = final.SingleOrDefault(i => i.Keyword == "HEALTHCHECK");
        if (health is null)
        {
            var operations = RepositoryLayout.ReadText("docs", "OPERATIONS.md");
            Assert.Contains("/health/live", operations);
            return;
        }

        Assert.Contains("/health/live", health.Arguments);
        Assert.Contains("AsymCdc__Silo__HttpPort", health.Arguments);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Runs_the_published_silo_with_the_baked_in_models(string dockerfile)
    {
        var instructions = Load(dockerfile);
        var final = Stages(instructions)[^1];
        var csproj = XDocument.Load(RepositoryLayout.PathOf("src", "AsymCdc.Silo", "AsymCdc.Silo.csproj"));
        var assembly = csproj.Descendants("AssemblyName").Single().Value;

        var publish = Assert.Single(instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish src/AsymCdc.Silo/AsymCdc.Silo.csproj", StringComparison.Ordinal));
        // ReadyToRun needs a runtime identifier; both are on the publish line.
        Assert.Contains("-p:PublishReadyToRun=true", publish.Arguments, StringComparison.Ordinal);
        Assert.Contains("-r linux-x64", publish.Arguments, StringComparison.Ordinal);
        Assert.Equal($"[\"dotnet\", \"{assembly}.dll\"]", final.Single(i => i.Keyword == "ENTRYPOINT").Arguments);
        Assert.Contains(final, i => i.Keyword == "COPY" && i.Arguments.EndsWith("models/ /app/models/", StringComparison.Ordinal));
        Assert.Contains(final, i => i.Keyword == "ENV" && i.Arguments.Contains("AsymCdc__Inference__ModelRepository=/app/models", StringComparison.Ordinal));

        var exposed = final.Where(i => i.Keyword == "EXPOSE").SelectMany(i => i.Arguments.Split(' ')).ToList();
        Assert.Contains("8080", exposed);
        Assert.Contains("11111", exposed);
        if (exposed.Contains("30000"))
        {
            // An image that runs frontends (the Orleans gateway) serves their KServe v2 gRPC port too.
            Assert.Contains("8081", exposed);
        }
    }

    [Fact]
    public void Gpu_image_has_the_cuda_major_the_onnx_runtime_cuda_provider_links()
    {
        // The provider library names the CUDA runtime it was linked against (libcudart.so.<major>);
        // a base image of another major fails only at run time, on a GPU node, so check it here.
        var props = XDocument.Load(RepositoryLayout.PathOf("Directory.Packages.props"));
        var version = props.Descendants("PackageVersion")
            .Single(p => (string?)p.Attribute("Include") == "Microsoft.ML.OnnxRuntime.Gpu").Attribute("Version")!.Value;
        var nugetRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var provider = Path.Combine(nugetRoot, "microsoft.ml.onnxruntime.gpu.linux", version, "runtimes", "linux-x64", "native", "libonnxruntime_providers_cuda.so");
        Assert.True(File.Exists(provider),
            $"{provider} is missing: restore the solution (dotnet restore AsymCdc.Orleans.sln) so ONNX Runtime {version} is in the NuGet cache");

        var cudaRuntime = FindAscii(provider, "libcudart.so.", digits: true);
        Assert.NotNull(cudaRuntime);
        var runtime = FromImage(Stages(Load("Dockerfile.gpu"))[^1][0]);
        Assert.Matches($@"^nvidia/cuda:{cudaRuntime!["libcudart.so.".Length..]}\.\d+(\.\d+)?-cudnn-runtime-ubuntu\d+\.\d+$", runtime);
    }

    /// <summary>The first occurrence of <paramref name="prefix"/> and the digits after it in a binary file.</summary>
    private static string? FindAscii(string path, string prefix, bool digits)
    {
        var needle = System.Text.Encoding.ASCII.GetBytes(prefix);
        using var file = File.OpenRead(path);
        var buffer = new byte[1 << 20];
        var carry = 0;
        int read;
        while ((read = file.Read(buffer, carry, buffer.Length - carry)) > 0)
        {
            var span = buffer.AsSpan(0, carry + read);
            var at = span.IndexOf(needle);
            if (at >= 0 && at + needle.Length + 4 <= span.Length)
            {
                var end = at + needle.Length;
                while (digits && end < span.Length && char.IsAsciiDigit((char)span[end]))
                {
                    end++;
                }

                return System.Text.Encoding.ASCII.GetString(span[at..end]);
            }

            // Keep the tail so a match across two reads is still found.
            carry = Math.Min(needle.Length + 4, span.Length);
            span[^carry..].CopyTo(buffer);
        }

        return null;
    }

    [Fact]
    public void Gpu_image_uses_the_cuda_provider_and_the_dotnet_10_runtime()
    {
        var instructions = Load("Dockerfile.gpu");
        Assert.Contains(instructions, i => i.Keyword == "ENV" && i.Arguments.Contains("AsymCdc__Inference__ExecutionProvider=cuda", StringComparison.Ordinal));
        // The silo needs the .NET 10 runtime next to CUDA: copied from the pinned aspnet image.
        Assert.Contains(instructions, i => i.Keyword == "FROM" && i.Arguments.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.", StringComparison.Ordinal));
    }

    [Fact]
    public void Parser_resolves_base_images_from_global_build_arguments()
    {
        var resolved = ResolveBaseImages(Parse("ARG BASE=a:1\nARG OTHER\nFROM ${BASE} AS build\nFROM $BASE\nFROM ${OTHER}\nARG LATE=c:3\nFROM ${LATE}\n"));
        Assert.Equal(["a:1 AS build", "a:1", "${OTHER}", "${LATE}"], resolved.Where(i => i.Keyword == "FROM").Select(i => i.Arguments));
    }

    [Fact]
    public void Cpu_image_uses_the_aspnet_10_runtime_and_the_cpu_provider()
    {
        var instructions = Load("Dockerfile");
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.", FromImage(Stages(instructions)[^1][0]));
        Assert.Contains(instructions, i => i.Keyword == "ENV" && i.Arguments.Contains("AsymCdc__Inference__ExecutionProvider=cpu", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_stage_has_every_project_the_silo_references()
    {
        // The build stage copies only Directory.*.props and src/: a reference outside src/ (or into
        // a folder .dockerignore leaves out) would build here and fail in `docker build`.
        var pending = new Stack<string>([RepositoryLayout.PathOf("src", "AsymCdc.Silo", "AsymCdc.Silo.csproj")]);
        var seen = new HashSet<string>();
        var src = RepositoryLayout.PathOf("src") + Path.DirectorySeparatorChar;
        while (pending.TryPop(out var project))
        {
            if (!seen.Add(project))
            {
                continue;
            }

            Assert.True(project.StartsWith(src, StringComparison.Ordinal) && File.Exists(project),
                $"the silo references {Path.GetRelativePath(RepositoryLayout.Root, project)}, which the Docker build stage does not copy");
            foreach (var reference in XDocument.Load(project).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', Path.DirectorySeparatorChar);
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, include)));
            }
        }

        Assert.Contains(seen, p => p.EndsWith("AsymCdc.Hosting.csproj", StringComparison.Ordinal));
    }

    [Fact]
    public void Docker_context_leaves_out_build_outputs_and_training_but_keeps_the_models()
    {
        var ignored = RepositoryLayout.ReadText(".dockerignore").Split('\n')
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
        Assert.Contains(".git/", ignored);
        Assert.Contains("models/training/", ignored);
        Assert.DoesNotContain(ignored, l => l is "models" or "models/" or "models/*" or "src" or "src/");
    }

    [Fact]
    public void Parser_joins_continuation_lines_and_skips_comments()
    {
        var parsed = Parse("# c\nFROM a:1 AS build\nRUN x \\\n  # inside\n  y\nUSER 1654\n");
        Assert.Equal(["FROM", "RUN", "USER"], parsed.Select(i => i.Keyword));
        Assert.Equal("x    y", parsed[1].Arguments);
        Assert.False(IsPinned("redis"));
        Assert.False(IsPinned("redis:latest"));
        Assert.False(IsPinned("localhost:5000/redis"));
        Assert.True(IsPinned("localhost:5000/redis:7.4.2"));
        Assert.True(IsPinned("redis@sha256:abc"));
    }

    [GeneratedRegex(@"\s[Aa][Ss]\s+(\S+)\s*$")]
    private static partial Regex StageAlias();

    // ${NAME} or $NAME
    [GeneratedRegex(@"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")]
    private static partial Regex BuildArgument();

    [GeneratedRegex(@"--build-arg ([A-Z_]+)=")]
    private static partial Regex StandInArgument();
}
