package benchkit

import "testing"

func TestModelShape(t *testing.T) {
	text := []byte(`tree
version=v3

Tree=0
num_leaves=4
left_child=1 -1 -2
right_child=2 -3 -4

Tree=1
num_leaves=2
left_child=-1
right_child=-2

Tree=2
num_leaves=1


end of trees
`)
	trees, depth, err := ModelShape(text)
	if err != nil {
		t.Fatal(err)
	}
	// Tree 0: root → node 1 → leaves, and root → node 2 → leaves: depth 2.
	if trees != 3 || depth != 2 {
		t.Fatalf("trees %d, max depth %d; want 3 and 2", trees, depth)
	}
}
